/** `undertow accounts` against a running devnet: the JSON equals the chain's view, --verify passes. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../src/chain/startAnvil.js'
import { devnetInfo } from '../../src/devnet/devnetFile.js'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import type { AccountReport } from '../../strategies/aave-v3/accountReport.js'
import {
  type AaveDevnet as Devnet,
  setPrice,
  startAaveDevnet,
} from '../../strategies/aave-v3/devnet/index.js'
import { expectOneLineError, runCli } from '../support/helpers.js'

let devnet: Devnet
const dir = mkdtempSync(join(tmpdir(), 'undertow-accounts-'))
const file = join(dir, 'devnet.json')

beforeAll(async () => {
  devnet = await startAaveDevnet({ accounts: 40, seed: 3 })
  writeFileSync(file, JSON.stringify(devnetInfo(devnet)))
  await setPrice(devnet, 'WETH', '1450', devnet.client)
  await setPrice(devnet, 'WBTC', '30000', devnet.client)
})
afterAll(async () => devnet?.stop())

describe('undertow accounts', () => {
  it('prints every account sorted by health with the exact on-chain figures, and verifies', async () => {
    const result = await runCli(['accounts', '--devnet', file, '--json', '--verify'])
    expect(result.stderr).toMatch(/verified \d+ accounts at block \d+: 0 mismatches/)
    expect(result.code).toBe(0)
    const reports = JSON.parse(result.stdout) as AccountReport[]
    expect(reports.length).toBeGreaterThanOrEqual(40)
    const hfs = reports.map((r) => BigInt(r.healthFactor))
    expect([...hfs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(hfs)
    const blockNumber = BigInt(reports[0]?.blockNumber ?? '0')
    for (const r of reports) {
      const chain = await devnet.client.readContract({
        address: devnet.addresses.pool,
        abi: poolAbi,
        functionName: 'getUserAccountData',
        args: [r.account as `0x${string}`],
        blockNumber,
      })
      expect([
        r.totalCollateralBase,
        r.totalDebtBase,
        r.currentLiquidationThreshold,
        r.ltv,
        r.healthFactor,
      ]).toEqual([chain[0], chain[1], chain[3], chain[4], chain[5]].map(String))
      expect(r.bestLiquidation !== undefined).toBe(chain[5] < 10n ** 18n)
    }
    expect(reports.some((r) => r.bestLiquidation)).toBe(true)
  })

  it('rejects bad targets with one line', async () => {
    const port = await freePort()
    const cases: [string[], RegExp][] = [
      [['accounts', '--devnet', file, '--strategy', 'compound-v9'], /unknown strategy "compound-v9"/],
      [
        [
          'accounts',
          '--rpc',
          `http://user:secret@127.0.0.1:${port}/v3/TOKEN123`,
          '--addresses-provider',
          devnet.addresses.addressesProvider,
        ],
        /cannot reach RPC http:\/\/127\.0\.0\.1:\d+\/… \(connection refused\)/,
      ],
      [
        ['accounts', '--devnet', file, '--chain-id', '1'],
        /wrong chain: .* is chain 31337, configuration says 1/,
      ],
      [['accounts', '--rpc', devnet.rpcUrl], /no market/],
      [['accounts', '--devnet', file, '--addresses-provider', '0xnope'], /not an address/],
    ]
    for (const [args, message] of cases) await expectOneLineError(args, message, {}, /secret|TOKEN123/)
  })
})
