/**
 * Tick-to-trade on the real devnet: a pending oracle transaction arrives over the WebSocket, the
 * daemon decodes it, re-plans the exposed accounts, simulates, prices gas, signs and sends the
 * backrun. Measured from the collector's receipt of the pending transaction to the send returning.
 * Victims are staggered so that each event makes exactly one new account liquidatable.
 */

import { sendPendingPrice } from '../src/demo.js'
import { aaveDevnet } from '../strategies/aave-v3/devnet/index.js'
import { percentile, record } from './figures.js'
import { startVictims } from './victims.js'

export async function benchTickToTrade(events = 220): Promise<string[]> {
  const { devnet, daemon, mineAndWait } = await startVictims(
    Array.from({ length: events }, (_, j) => 1935 - 2 * j),
    777,
  )
  try {
    const samples: number[] = []
    for (let i = 0; i < events; i++) {
      const hash = await sendPendingPrice(
        { devnet, provider: aaveDevnet },
        'WETH',
        (1935 - 2 * i - 1).toString(),
      )
      const deadline = Date.now() + 10_000
      let sample: { ms: number } | undefined
      while (!sample && Date.now() < deadline) {
        sample = daemon.executor.tickToTrade.find((t) => t.oracleTx === hash)
        if (!sample) await new Promise((resolve) => setImmediate(resolve))
      }
      if (sample) samples.push(sample.ms)
      await mineAndWait()
    }
    // Steady state: empty blocks, no opportunities; count every request the daemon makes.
    const before = (await daemon.metrics.rpcRequests.get()).values.reduce((sum, v) => sum + v.value, 0)
    const idleBlocks = 50
    for (let i = 0; i < idleBlocks; i++) await mineAndWait()
    const after = (await daemon.metrics.rpcRequests.get()).values.reduce((sum, v) => sum + v.value, 0)
    const landed = daemon.executor.records.filter((r) => r.predicted).length
    await daemon.stop(5_000)
    record('tick_to_trade_p50_ms', percentile(samples, 50))
    record('tick_to_trade_p99_ms', percentile(samples, 99))
    record('rpc_calls_per_block', (after - before) / idleBlocks)
    return [
      `tick-to-trade: pending oracle tx received → signed liquidation sent, ${samples.length} events (${landed} backruns landed)`,
      `  p50 ${percentile(samples, 50).toFixed(2)} ms   p99 ${percentile(samples, 99).toFixed(2)} ms   max ${Math.max(...samples).toFixed(2)} ms`,
      `rpc calls per block in steady state: ${((after - before) / idleBlocks).toFixed(2)} (${after - before} requests over ${idleBlocks} empty blocks)`,
    ]
  } finally {
    await devnet.stop()
  }
}
