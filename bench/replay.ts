/** Backtest replay speed: a ≥10,000-block history recorded from the devnet, replayed offline. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readDataset, recordDataset, writeDataset } from '../src/backtest/dataset.js'
import { replay } from '../src/backtest/replay.js'
import { generateHistory } from '../test/history.js'

export async function benchReplay(): Promise<string[]> {
  const history = await generateHistory({ accounts: 60, emptyBlocks: 1120, pruneHistory: true })
  try {
    const { devnet, fromBlock, toBlock } = history
    const recordStarted = performance.now()
    const recorded = await recordDataset(devnet.client, {
      chainId: devnet.chainId,
      addressesProvider: devnet.addresses.addressesProvider,
      multicall: devnet.addresses.batchReader,
      indexFromBlock: 0n,
      fromBlock,
      toBlock,
      initial: history.initial,
    })
    const recordMs = performance.now() - recordStarted
    const file = join(mkdtempSync(join(tmpdir(), 'undertow-replay-')), 'history.json.gz')
    writeDataset(file, recorded)
    const dataset = readDataset(file)
    const started = performance.now()
    const report = replay(dataset, { minProfitBase: 10n ** 8n, blockTimeSec: 1n, rankingTipWei: 10n ** 9n })
    const ms = performance.now() - started
    return [
      `backtest replay: ${report.blocks} blocks, ${dataset.logs.length} logs, ${dataset.initial.accounts.size} accounts, ${report.liquidations.length} real liquidations, ${report.episodes.length} opportunities`,
      `  replay ${ms.toFixed(0)} ms = ${((report.blocks / ms) * 1000).toFixed(0)} blocks/s (recording from the node took ${(recordMs / 1000).toFixed(1)} s)`,
    ]
  } finally {
    await history.devnet.stop()
  }
}
