/**
 * Detect → send for a batch: one pending oracle update that makes 50 accounts liquidatable at once;
 * the figure is when the last of the 50 backruns left (from the update's arrival), over 6 batches.
 */
import { sendPendingPrice } from '../src/demo.js'
import { aaveDevnet } from '../strategies/aave-v3/devnet/index.js'
import { percentile, record } from './figures.js'
import { startVictims } from './victims.js'

const BATCH = 50
const BATCHES = 6

export async function benchBatch(): Promise<string[]> {
  // Batch k: 50 victims liquidatable below 1900 − 60k (each step below the last batch's).
  const thresholds = Array.from(
    { length: BATCH * BATCHES },
    (_, j) => 1900 - 60 * Math.floor(j / BATCH) - (j % BATCH) * 0.2,
  )
  const { devnet, daemon, mineAndWait } = await startVictims(thresholds, 4242)
  try {
    const last: number[] = []
    const all: number[] = []
    for (let k = 0; k < BATCHES; k++) {
      const price = (1900 - 60 * k - BATCH * 0.2 - 1).toFixed(2)
      const hash = await sendPendingPrice({ devnet, provider: aaveDevnet }, 'WETH', price)
      const deadline = Date.now() + 20_000
      let sent = daemon.executor.tickToTrade.filter((t) => t.oracleTx === hash)
      while (sent.length < BATCH && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1))
        sent = daemon.executor.tickToTrade.filter((t) => t.oracleTx === hash)
      }
      if (sent.length > 0) last.push(Math.max(...sent.map((t) => t.ms)))
      all.push(...sent.map((t) => t.ms))
      await mineAndWait()
    }
    await daemon.stop(5_000)
    record('batch50_last_sent_p50_ms', percentile(last, 50))
    record('batch50_last_sent_p99_ms', percentile(last, 99))
    return [
      `batch: one pending update opens ${BATCH} liquidations (${BATCHES} batches, ${all.length} backruns sent)`,
      `  last of the batch sent after p50 ${percentile(last, 50).toFixed(2)} ms, p99 ${percentile(last, 99).toFixed(2)} ms; any backrun p50 ${percentile(all, 50).toFixed(2)} ms`,
    ]
  } finally {
    await devnet.stop()
  }
}
