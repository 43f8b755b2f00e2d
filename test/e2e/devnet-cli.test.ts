/** `undertow devnet` as a user runs it: a real process, a real file, real health factors, bad input. */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient } from '../../src/chain/rpc.js'
import { aggregatorAbi, erc20Abi, poolAbi } from '../../strategies/aave-v3/abi.js'
import type { AaveDevnetInfo as DevnetInfo } from '../../strategies/aave-v3/devnet/index.js'
import { expectOneLineError, projectRoot, runCli } from '../support/helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'undertow-devnet-'))
const file = join(dir, 'devnet.json')
let child: ReturnType<typeof spawn>
let exited: Promise<number | null>
let readyMs = 0

beforeAll(async () => {
  const started = Date.now()
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(projectRoot, 'src/cli.ts'),
      'devnet',
      '--accounts',
      '50',
      '--seed',
      '1',
      '--out',
      file,
    ],
    {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  exited = new Promise((resolve) => child.on('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('devnet ready')) resolve()
    })
    child.on('exit', (code) => reject(new Error(`devnet exited early with ${code}`)))
  })
  readyMs = Date.now() - started
})

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL')
})

describe('undertow devnet', () => {
  it('is ready in under 60 s with health factors on both sides of 1.2', async () => {
    expect(readyMs).toBeLessThan(60_000)
    const info = JSON.parse(readFileSync(file, 'utf8')) as DevnetInfo
    expect(info.accounts).toHaveLength(50)
    expect(Object.keys(info.addresses.reserves)).toEqual(['WETH', 'WBTC', 'USDC', 'DAI', 'LINK', 'wstETH'])
    const client = httpClient(info.rpcUrl, info.chainId)
    const hfs = await Promise.all(
      info.accounts.map(
        async (a) =>
          (
            await client.readContract({
              address: info.addresses.pool,
              abi: poolAbi,
              functionName: 'getUserAccountData',
              args: [a],
            })
          )[5],
      ),
    )
    const threshold = 12n * 10n ** 17n
    expect(hfs.some((hf) => hf < threshold)).toBe(true)
    expect(hfs.some((hf) => hf > threshold)).toBe(true)
  })

  it('price, warp and fund act on the running devnet', async () => {
    const info = JSON.parse(readFileSync(file, 'utf8')) as DevnetInfo
    const client = httpClient(info.rpcUrl, info.chainId)
    const price = await runCli(['devnet', 'price', '--devnet', file, 'WETH', '1850.25'])
    expect(price.stderr).toBe('')
    expect(price.code).toBe(0)
    const weth = info.addresses.reserves.WETH
    if (!weth) throw new Error('no WETH')
    expect(
      await client.readContract({
        address: weth.aggregator,
        abi: aggregatorAbi,
        functionName: 'latestAnswer',
      }),
    ).toBe(185_025_000_000n)

    const before = await client.getBlock()
    const warp = await runCli(['devnet', 'warp', '--devnet', file, '--seconds', '86400'])
    expect(warp.code).toBe(0)
    const after = await client.getBlock()
    expect(after.timestamp - before.timestamp).toBeGreaterThanOrEqual(86_400n)

    const target = '0x000000000000000000000000000000000000bEEF'
    const fund = await runCli(['devnet', 'fund', '--devnet', file, target])
    expect(fund.code).toBe(0)
    expect(await client.getBalance({ address: target })).toBeGreaterThan(0n)
    expect(
      await client.readContract({
        address: weth.asset,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [target],
      }),
    ).toBeGreaterThan(0n)
  })

  it('rejects bad input with one line and a non-zero exit', async () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '{ not json')
    const cases: [string[], RegExp][] = [
      [['devnet', 'price', '--devnet', file, 'DOGE', '1'], /unknown reserve symbol "DOGE"/],
      [['devnet', 'price', '--devnet', file, 'WETH', '-5'], /price must be a positive decimal number/],
      [['devnet', 'price', '--devnet', file, 'WETH', '0'], /price must be greater than zero/],
      [['devnet', 'price', '--devnet', join(dir, 'missing.json'), 'WETH', '1'], /cannot be read/],
      [['devnet', 'price', '--devnet', bad, 'WETH', '1'], /not valid JSON/],
      [['devnet', 'warp', '--devnet', file, '--seconds', '-3'], /expected a whole number/],
      [['devnet', '--accounts', 'many'], /expected a whole number/],
      [['devnet', '--aave', '3.9'], /expected one of 3\.0, 3\.6, got "3\.9"/],
      [['devnet', 'fund', '--devnet', file, '0x1234'], /not an address/],
    ]
    for (const [args, message] of cases) await expectOneLineError(args, message)
  })

  it('an unknown protocol or strategy is one line listing the known ones, exit 2', async () => {
    const cases: [string[], string][] = [
      [
        ['devnet', '--protocol', 'compound-v9'],
        'undertow: unknown protocol "compound-v9" (available: aave-v3, xmargin-perps)',
      ],
      [
        ['demo', '--protocol', 'compound-v9'],
        'undertow: unknown protocol "compound-v9" (available: aave-v3, xmargin-perps)',
      ],
      [
        ['run', '--devnet', file, '--strategy', 'compound-v9'],
        'undertow: unknown strategy "compound-v9" (available: aave-v3, xmargin-perps)',
      ],
      [
        ['backtest', '--devnet', file, '--strategy', 'compound-v9'],
        'undertow: unknown strategy "compound-v9" (available: aave-v3, xmargin-perps)',
      ],
    ]
    for (const [args, line] of cases) {
      const result = await runCli(args, { UNDERTOW_PRIVATE_KEY: `0x${'11'.repeat(32)}` })
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: `${line}\n` })
    }
  })

  it('stops anvil and exits 0 on Ctrl-C', async () => {
    const info = JSON.parse(readFileSync(file, 'utf8')) as DevnetInfo
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    await expect(httpClient(info.rpcUrl, info.chainId).getBlockNumber()).rejects.toThrow()
  })
})
