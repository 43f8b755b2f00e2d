/**
 * Tick-to-trade on the real devnet: a pending oracle transaction arrives over the WebSocket, the
 * daemon decodes it, re-plans the exposed accounts, simulates, prices gas, signs and sends the
 * backrun. Measured from the collector's receipt of the pending transaction to the send returning.
 * Victims are staggered so that each event makes exactly one new account liquidatable.
 */

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseUnits } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { parseConfig } from '../src/config.js'
import { startDaemon } from '../src/daemon.js'
import { DEMO_LIQUIDATOR_KEY, sendPendingPrice } from '../src/demo.js'
import { devnetInfo } from '../src/devnet/devnetFile.js'
import { createLogger } from '../src/logger.js'
import { aaveDevnet, fundAccount, startAaveDevnet } from '../strategies/aave-v3/devnet/index.js'
import { executePlan, seededAccount } from '../strategies/aave-v3/devnet/seedAccounts.js'
import { registry } from '../strategies/index.js'
import { record } from './figures.js'

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

export async function benchTickToTrade(events = 220): Promise<string[]> {
  const devnet = await startAaveDevnet({ accounts: 0 })
  try {
    // Victim j: 10 WETH, USDC debt that makes it liquidatable below 1935 - 2j USD per WETH.
    const plans = Array.from({ length: events }, (_, j) => ({
      address: seededAccount(777, j),
      profile: 'cross' as const,
      eMode: 0,
      supplies: [{ symbol: 'WETH', amount: parseUnits('10', 18) }],
      borrows: [{ symbol: 'USDC', amount: parseUnits((8.25 * (1935 - 2 * j)).toFixed(6), 6) }],
    }))
    await devnet.client.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let plan = plans[next++]; plan; plan = plans[next++])
          await executePlan(devnet.client, devnet.addresses, plan)
      }),
    )
    const liquidator = privateKeyToAccount(DEMO_LIQUIDATOR_KEY).address
    await fundAccount(devnet, liquidator, devnet.client)
    const dir = mkdtempSync(join(tmpdir(), 'undertow-bench-'))
    writeFileSync(join(dir, 'devnet.json'), JSON.stringify(devnetInfo(devnet)))
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const config = parseConfig(
      { devnet: join(dir, 'devnet.json'), dataDir: join(dir, 'data'), minProfitUsd: '1' },
      env,
      registry,
    )
    const daemon = await startDaemon(
      config,
      env,
      createLogger('error', { pretty: false, destination: process.stderr }),
    )
    await devnet.client.request({ method: 'evm_setAutomine', params: [false] } as never)
    const samples: number[] = []
    // Mines until the daemon has the head and nothing of its own is pending (a block-path
    // liquidation sent right after a mine needs the next block).
    const mineAndWait = async () => {
      for (let round = 0; round < 50; round++) {
        await devnet.client.request({ method: 'evm_mine', params: [] } as never)
        const target = await devnet.client.getBlockNumber({ cacheTime: 0 })
        const until = Date.now() + 200
        while (
          Date.now() < until &&
          ((daemon.engine.lastHead?.number ?? 0n) < target || daemon.executor.inFlightCount() > 0)
        ) {
          await new Promise((resolve) => setTimeout(resolve, 2))
        }
        if ((daemon.engine.lastHead?.number ?? 0n) >= target && daemon.executor.inFlightCount() === 0) return
      }
      throw new Error('the daemon did not settle after 50 blocks')
    }
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
