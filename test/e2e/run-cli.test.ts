/** `undertow run` as a process: metrics and health, graceful SIGTERM, and one-line errors for bad input. */
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../src/chain/startAnvil.js'
import { DEMO_LIQUIDATOR_KEY } from '../../src/demo.js'
import { devnetInfo } from '../../src/devnet/devnetFile.js'
import { type AaveDevnet as Devnet, startAaveDevnet } from '../../strategies/aave-v3/devnet/index.js'
import { expectOneLineError, projectRoot } from '../support/helpers.js'

let devnet: Devnet
const dir = mkdtempSync(join(tmpdir(), 'undertow-run-'))
const devnetFile = join(dir, 'devnet.json')

beforeAll(async () => {
  devnet = await startAaveDevnet({ accounts: 5, seed: 9 })
  writeFileSync(devnetFile, JSON.stringify(devnetInfo(devnet)))
})
afterAll(async () => devnet?.stop())

describe('undertow run', () => {
  it('serves /metrics and /healthz, never logs the key, and exits 0 on SIGTERM', async () => {
    const port = await freePort()
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(projectRoot, 'src/cli.ts'),
        'run',
        '--devnet',
        devnetFile,
        '--metrics-port',
        String(port),
        '--data-dir',
        join(dir, 'data'),
        '--log-level',
        'debug',
      ],
      {
        cwd: projectRoot,
        env: { PATH: process.env.PATH ?? '', UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    const deadline = Date.now() + 60_000
    while (!out.includes('undertow running') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100))
    expect(out).toContain('undertow running')
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    expect(metrics).toMatch(/undertow_accounts_tracked \d+/)
    expect(metrics).toContain('undertow_stage_seconds')
    const health = await fetch(`http://127.0.0.1:${port}/healthz`)
    expect(health.status).toBe(200)
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(out).toContain('stopped')
    expect(out).not.toContain(DEMO_LIQUIDATOR_KEY.slice(2))
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line), line).not.toThrow()
  })

  it('rejects bad input with one line naming the problem, never the key or URL credentials', async () => {
    const malformed = join(dir, 'malformed.json')
    writeFileSync(malformed, '{ "strategy": "aave-v3", ')
    const unknownKey = join(dir, 'unknown.json')
    writeFileSync(
      unknownKey,
      JSON.stringify({ devnet: devnetFile, execution: { minProfitUsd: '1', turbo: true } }),
    )
    const badValue = join(dir, 'bad-value.json')
    writeFileSync(badValue, JSON.stringify({ devnet: devnetFile, execution: { maxConcurrent: 0 } }))
    const noBuilders = join(dir, 'no-builders.json')
    writeFileSync(noBuilders, JSON.stringify({ devnet: devnetFile, execution: { backrunLane: 'auction' } }))
    const bundles = join(dir, 'bundles.json')
    writeFileSync(
      bundles,
      JSON.stringify({
        devnet: devnetFile,
        execution: { lane: 'bundle', builders: [{ name: 'b1', url: 'http://127.0.0.1:9/' }] },
      }),
    )
    const badBuilderUrl = join(dir, 'bad-builder.json')
    writeFileSync(
      badBuilderUrl,
      JSON.stringify({
        devnet: devnetFile,
        execution: { lane: 'bundle', builders: [{ url: 'builder.example' }] },
      }),
    )
    const port = await freePort()
    const key = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const secretKey = '0xdeadbeef00000000000000000000000000000000000000000000000000c0ffee'
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['run', '--config', malformed], key, /config file .* is not valid JSON/],
      [['run', '--config', unknownKey], key, /unknown key execution\.turbo/],
      [['run', '--config', badValue], key, /execution\.maxConcurrent: /],
      [['run', '--devnet', devnetFile, '--strategy', 'maker'], key, /unknown strategy "maker"/],
      [
        [
          'run',
          '--rpc',
          `https://alice:hunter2@127.0.0.1:${port}/key/SECRETTOKEN`,
          '--addresses-provider',
          devnet.addresses.addressesProvider,
        ],
        key,
        /cannot reach RPC https:\/\/127\.0\.0\.1:\d+\/…/,
      ],
      [
        ['run', '--devnet', devnetFile, '--chain-id', '10'],
        key,
        /wrong chain: .* is chain 31337, configuration says 10/,
      ],
      [['run', '--devnet', devnetFile], {}, /environment variable UNDERTOW_PRIVATE_KEY is not set/],
      [
        ['run', '--devnet', devnetFile, '--private-key-env', 'MY_KEY'],
        { MY_KEY: `${secretKey}zz` },
        /the private key in MY_KEY is malformed/,
      ],
      [
        ['run', '--devnet', devnetFile, '--min-profit-usd', 'lots'],
        key,
        /min profit must be a non-negative decimal/,
      ],
      [['run', '--config', noBuilders], key, /execution\.backrunLane "auction" need execution\.builders/],
      [['run', '--config', badBuilderUrl], key, /execution\.builders\.0\.url: expected an http\(s\) URL/],
      [['run', '--config', bundles], key, /environment variable UNDERTOW_BUNDLE_AUTH_KEY is not set/],
      [
        ['run', '--config', bundles],
        { ...key, UNDERTOW_BUNDLE_AUTH_KEY: `${secretKey}zz` },
        /the bundle auth key in UNDERTOW_BUNDLE_AUTH_KEY is malformed/,
      ],
      [
        ['run', '--config', bundles],
        { ...key, UNDERTOW_BUNDLE_AUTH_KEY: DEMO_LIQUIDATOR_KEY },
        /the bundle auth key in UNDERTOW_BUNDLE_AUTH_KEY is the liquidator's own key/,
      ],
      [
        ['run', '--devnet', devnetFile, '--flash-liquidator', '0x12'],
        key,
        /--flash-liquidator is not an address: "0x12"/,
      ],
      [
        ['run', '--devnet', devnetFile, '--flash-liquidator', devnet.addresses.pool],
        key,
        /a flash liquidator needs swap pools: set market\.uniswapV3Factory/,
      ],
      [
        [
          'deploy-executor',
          '--strategy',
          'xmargin-perps',
          '--clearinghouse',
          devnet.addresses.pool,
          '--rpc',
          'http://127.0.0.1:1',
        ],
        key,
        /the xmargin-perps strategy has no executor contract to deploy/,
      ],
      [
        ['deploy-executor', '--devnet', devnetFile],
        {},
        // Its own reason, not run's (a dry run deploys nothing).
        /environment variable UNDERTOW_PRIVATE_KEY is not set \(it must hold the liquidator key, which will own the contract\)/,
      ],
    ]
    for (const [args, env, message] of cases) {
      await expectOneLineError(args, message, env, /hunter2|SECRETTOKEN|deadbeef|c0ffee/)
    }
  })
})
