/** The perps CLI contract without a chain: bad devnet files, symbols and services are one line. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'vitest'
import { feedId } from '../../strategies/xmargin-perps/devnet/index.js'
import { expectOneLineError } from '../support/helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'undertow-perps-cli-'))
const perps = join(dir, 'perps.json')
writeFileSync(
  perps,
  JSON.stringify({
    protocol: 'xmargin-perps',
    rpcUrl: 'http://127.0.0.1:9',
    chainId: 31337,
    priceServiceUrl: 'http://127.0.0.1:9',
    addresses: {
      clearinghouse: '0x00000000000000000000000000000000000000c1',
      pyth: '0x00000000000000000000000000000000000000c2',
      batchReader: '0x00000000000000000000000000000000000000c3',
      collaterals: {},
      markets: { 'ETH-PERP': { marketId: 0, feedId: feedId('ETH') } },
    },
    accounts: [],
  }),
)
const aave = join(dir, 'aave.json')
writeFileSync(
  aave,
  JSON.stringify({
    protocol: 'aave-v3',
    rpcUrl: 'http://127.0.0.1:9',
    chainId: 31337,
    addresses: { pool: '0x00000000000000000000000000000000000000a1', reserves: {} },
  }),
)

describe('perps CLI bad input', () => {
  it('is one line and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['devnet', 'price', '--devnet', perps, 'DOGE', '1'],
        /unknown market or asset "DOGE" \(devnet has ETH-PERP\)/,
      ],
      [['devnet', 'price', '--devnet', perps, 'ETH-PERP', '-1'], /price must be a positive decimal number/],
      [
        ['devnet', 'price', '--devnet', perps, 'ETH-PERP', '2500'],
        /cannot reach the devnet node at 127\.0\.0\.1:9/,
      ],
      [
        ['accounts', '--devnet', perps, '--strategy', 'aave-v3'],
        /runs xmargin-perps, but the strategy is aave-v3/,
      ],
      [
        ['accounts', '--devnet', aave, '--strategy', 'xmargin-perps'],
        /runs aave-v3, but the strategy is xmargin-perps/,
      ],
      [
        ['accounts', '--devnet', perps, '--price-service', 'ftp://x'],
        /--price-service is not an http\(s\):\/\/ URL/,
      ],
      [['accounts', '--devnet', perps, '--clearinghouse', '0x12'], /--clearinghouse is not an address/],
    ]
    for (const [args, message] of cases) await expectOneLineError(args, message)
  })
})

describe('the installed command', () => {
  it('runs through a symlink, as node_modules/.bin, npx and npm i -g run it', async () => {
    const { symlinkSync } = await import('node:fs')
    const { spawnSync } = await import('node:child_process')
    const { expect } = await import('vitest')
    const { projectRoot } = await import('../support/helpers.js')
    const link = join(dir, 'undertow')
    symlinkSync(join(projectRoot, 'src', 'cli.ts'), link)
    const result = spawnSync(process.execPath, ['--import', 'tsx', link, '--version'], {
      cwd: projectRoot,
      encoding: 'utf8',
    })
    expect({ code: result.status, stdout: result.stdout }).toEqual({ code: 0, stdout: '0.1.0\n' })
    const help = spawnSync(process.execPath, ['--import', 'tsx', link, '--help'], {
      cwd: projectRoot,
      encoding: 'utf8',
    })
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/^Usage: undertow /)
    expect(help.stdout).toMatch(/\brun\b.*daemon/)
  })
})
