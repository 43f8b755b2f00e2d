/**
 * Backtest on a history made on the devnet (price path, borrowers, a competing liquidator that
 * takes some accounts and leaves others): every real liquidation is reported with exact sizes and
 * liquidator, every untaken opportunity is real, fork execution equals the mirror's sizing, and a
 * recorded dataset replays to the same report as the RPC.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { parseEventLogs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordDataset } from '../../src/backtest/dataset.js'
import { forkExecute } from '../../src/backtest/forkExecute.js'
import { replay } from '../../src/backtest/replay.js'
import { devnetInfo } from '../../src/devnet/devnetFile.js'
import { createLogger } from '../../src/logger.js'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import { aaveV3 } from '../../strategies/aave-v3/index.js'
import type { AaveLiquidationDetails } from '../../strategies/aave-v3/plan.js'
import type { AaveLiquidationEventDetails } from '../../strategies/aave-v3/strategy.js'
import { expectOneLineError, runCli } from '../support/helpers.js'
import { generateHistory, type History } from '../support/history.js'

let history: History
const dir = mkdtempSync(join(tmpdir(), 'undertow-backtest-'))
const devnetFile = join(dir, 'devnet.json')

beforeAll(async () => {
  history = await generateHistory()
  writeFileSync(devnetFile, JSON.stringify(devnetInfo(history.devnet)))
})
afterAll(async () => history?.devnet.stop())

describe('undertow backtest', () => {
  it('reports every real liquidation exactly, every untaken opportunity, and fork execution agrees with the mirror', async () => {
    const { devnet, fromBlock, toBlock, competitor } = history
    const client = devnet.client
    const log = createLogger('silent')
    const options = {
      addressesProvider: devnet.addresses.addressesProvider,
      multicallAddress: devnet.addresses.batchReader,
      fromBlock: 0n,
    }
    const atFrom = await aaveV3.create({ client, log }, options, { fromBlock: 0n, toBlock: fromBlock })
    const dataset = await recordDataset(client, atFrom, {
      chainId: devnet.chainId,
      target: devnet.addresses.addressesProvider,
      options,
      fromBlock,
      toBlock,
    })
    const replayed = await aaveV3.create({ log }, options, {
      fromBlock: 0n,
      restored: structuredClone(dataset.initial),
    })
    const report = await replay(replayed, dataset, {
      minProfitBase: 10n ** 8n,
      blockTimeSec: 1n,
      rankingTipWei: 10n ** 9n,
    })
    const amounts = (details: unknown) => {
      const d = details as AaveLiquidationEventDetails
      return [d.debtToCover, d.liquidatedCollateral]
    }

    const logs = await client.getLogs({ address: devnet.addresses.pool, fromBlock: fromBlock + 1n, toBlock })
    const truth = parseEventLogs({ abi: poolAbi, eventName: 'LiquidationCall', logs })
    expect(truth.length).toBeGreaterThanOrEqual(2)
    expect(report.liquidations.map((l) => [l.block, l.liquidator, l.user, ...amounts(l.details)])).toEqual(
      truth.map((e) => [
        e.blockNumber,
        e.args.liquidator,
        e.args.user,
        e.args.debtToCover,
        e.args.liquidatedCollateralAmount,
      ]),
    )
    expect(report.liquidations.every((l) => l.liquidator === competitor)).toBe(true)
    expect(report.liquidations.filter((l) => l.detected).length).toBeGreaterThan(0)

    const untaken = report.episodes.filter((e) => !e.takenBy)
    expect(untaken.length).toBeGreaterThan(0)
    for (const episode of untaken) {
      const [, , , , , hf] = await client.readContract({
        address: devnet.addresses.pool,
        abi: poolAbi,
        functionName: 'getUserAccountData',
        args: [episode.account],
        blockNumber: episode.firstBlock,
      })
      expect(hf).toBeLessThan(10n ** 18n)
      expect(
        truth.some(
          (e) =>
            e.args.user.toLowerCase() === episode.account.toLowerCase() &&
            (e.blockNumber ?? 0n) > episode.firstBlock &&
            (e.blockNumber ?? 0n) <= episode.lastBlock,
        ),
      ).toBe(false)
    }

    if (!aaveV3.backtest) throw new Error('the Aave module has fork hooks')
    await forkExecute(devnet.rpcUrl, devnet.chainId, replayed, aaveV3.backtest, report.episodes)
    expect(report.episodes.length).toBeGreaterThan(0)
    for (const episode of report.episodes) {
      expect(episode.fork?.success, episode.fork?.reason).toBe(true)
      expect(episode.fork?.timestamp).toBe(episode.opportunity.atTimestamp)
      const planned = episode.opportunity.details as unknown as AaveLiquidationDetails
      expect(amounts(episode.fork?.details)).toEqual([planned.debtToCover, planned.collateralReceived])
      expect(episode.fork?.agreesWithMirror).toBe(true)
    }
  })

  it('record then backtest --dataset gives the same report as backtest --rpc, with an HTML report', async () => {
    const range = ['--from', String(history.fromBlock), '--to', String(history.toBlock), '--block-time', '1']
    const rpcJson = join(dir, 'rpc.json')
    const html = join(dir, 'report.html')
    const fromRpc = await runCli([
      'backtest',
      '--devnet',
      devnetFile,
      ...range,
      '--json',
      rpcJson,
      '--html',
      html,
    ])
    expect(fromRpc.stderr).toBe('')
    expect(fromRpc.code).toBe(0)
    expect(fromRpc.stdout).toMatch(/real liquidations: \d+, detected by Undertow: \d+/)
    const dataset = join(dir, 'history.json.gz')
    const recorded = await runCli([
      'record',
      '--devnet',
      devnetFile,
      '--from',
      String(history.fromBlock),
      '--to',
      String(history.toBlock),
      '--out',
      dataset,
    ])
    expect(recorded.code).toBe(0)
    const dsJson = join(dir, 'dataset.json')
    const fromDataset = await runCli([
      'backtest',
      '--dataset',
      dataset,
      '--block-time',
      '1',
      '--json',
      dsJson,
    ])
    expect(fromDataset.code).toBe(0)
    expect(readFileSync(dsJson, 'utf8')).toBe(readFileSync(rpcJson, 'utf8'))
    expect(fromDataset.stdout).toBe(fromRpc.stdout)
    const page = readFileSync(html, 'utf8')
    expect(page).toContain('<svg')
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/)
  })

  it('rejects bad input with one line', async () => {
    const corrupt = join(dir, 'corrupt.json.gz')
    writeFileSync(corrupt, gzipSync('{"format": 1, "headers": 3'))
    const garbage = join(dir, 'garbage.bin')
    writeFileSync(garbage, 'not gzip at all')
    const cases: [string[], RegExp][] = [
      [['backtest', '--devnet', devnetFile, '--from', '500', '--to', '400'], /--from 500 is after --to 400/],
      [['backtest', '--devnet', devnetFile, '--from', '1', '--to', '99999999'], /beyond its head/],
      [['backtest', '--dataset', corrupt], /dataset .* is corrupt/],
      [['backtest', '--dataset', garbage], /dataset .* is corrupt/],
      [['backtest', '--dataset', join(dir, 'missing.gz')], /cannot be read/],
    ]
    for (const [args, message] of cases) await expectOneLineError(args, message)
  })
})
