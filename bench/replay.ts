/** Backtest replay speed: a ≥10,000-block history recorded from the devnet, replayed offline. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readDataset, recordDataset, writeDataset } from '../src/backtest/dataset.js'
import { replay } from '../src/backtest/replay.js'
import { createLogger } from '../src/logger.js'
import { aaveV3 } from '../strategies/aave-v3/index.js'
import { generateHistory } from '../test/support/history.js'
import { record } from './figures.js'

export async function benchReplay(): Promise<string[]> {
  const history = await generateHistory({ accounts: 60, emptyBlocks: 1120, pruneHistory: true })
  try {
    const { devnet, fromBlock, toBlock } = history
    const recordStarted = performance.now()
    const log = createLogger('silent')
    const options = {
      addressesProvider: devnet.addresses.addressesProvider,
      multicallAddress: devnet.addresses.batchReader,
      fromBlock: 0n,
    }
    // The node prunes old state, so the mirror at fromBlock is the one the history generator kept.
    const atFrom = await aaveV3.create({ client: devnet.client, log }, options, {
      fromBlock: 0n,
      restored: structuredClone(history.initial),
    })
    const recorded = await recordDataset(devnet.client, atFrom, {
      chainId: devnet.chainId,
      target: devnet.addresses.addressesProvider,
      options,
      fromBlock,
      toBlock,
    })
    const recordMs = performance.now() - recordStarted
    const file = join(mkdtempSync(join(tmpdir(), 'undertow-replay-')), 'history.json.gz')
    writeDataset(file, recorded)
    const dataset = readDataset(file)
    const replayed = await aaveV3.create({ log }, options, { fromBlock: 0n, restored: dataset.initial })
    const accounts = replayed.accountCount()
    const started = performance.now()
    const report = await replay(replayed, dataset, {
      minProfitBase: 10n ** 8n,
      blockTimeSec: 1n,
      rankingTipWei: 10n ** 9n,
    })
    const ms = performance.now() - started
    record('replay_blocks_per_s', (report.blocks / ms) * 1000)
    return [
      `backtest replay: ${report.blocks} blocks, ${dataset.logs.length} logs, ${accounts} accounts, ${report.liquidations.length} real liquidations, ${report.episodes.length} opportunities`,
      `  replay ${ms.toFixed(0)} ms = ${((report.blocks / ms) * 1000).toFixed(0)} blocks/s (recording from the node took ${(recordMs / 1000).toFixed(1)} s)`,
    ]
  } finally {
    await history.devnet.stop()
  }
}
