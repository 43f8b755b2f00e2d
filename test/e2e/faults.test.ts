/**
 * Startup and subscriptions behind a faulty provider (test/support/chaosProxy.ts): the daemon comes
 * up through rate limits, 5xx pages, garbled bodies and rate-limit errors, and a newHeads
 * subscription that goes silent without closing is replaced within a few block times.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { startDaemon } from '../../src/daemon.js'
import { DEMO_LIQUIDATOR_KEY } from '../../src/demo.js'
import { createLogger } from '../../src/logger.js'
import { registry } from '../../strategies/index.js'
import { startAaveDemo } from '../support/aave.js'
import { startChaosProxy } from '../support/chaosProxy.js'

const quiet = () => createLogger('error', { pretty: false, destination: process.stderr })
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('faults', () => {
  it('starts behind rate limits, 5xx, garbled bodies and rate-limit errors, every time', async () => {
    const run = await startAaveDemo({ log: quiet(), accounts: 30 })
    cleanups.push(() => run.stop())
    await run.daemon.stop()
    for (const seed of [1, 2, 3]) {
      const chaos = await startChaosProxy(
        { httpUrl: run.devnet.rpcUrl, wsUrl: run.devnet.wsUrl },
        {
          latencyMs: [0, 20],
          http429: { rate: 0.15, retryAfterSeconds: 1 },
          rpcRateLimit: 0.05,
          http502: 0.05,
          http500: 0.03,
          truncated: 0.03,
          garbled: 0.03,
        },
        seed,
      )
      cleanups.push(() => chaos.close())
      const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
      const config = parseConfig(
        {
          devnet: run.devnetFile,
          rpcHttp: chaos.httpUrl,
          rpcWs: chaos.wsUrl,
          dataDir: `${run.dataDir}-${seed}`,
          blockTimeSeconds: 1,
        },
        env,
        registry,
      )
      const daemon = await startDaemon(config, env, quiet())
      cleanups.push(() => daemon.stop(2_000))
      const injected = Object.values(chaos.stats).reduce((n, v) => n + v, 0)
      expect(injected, JSON.stringify(chaos.stats)).toBeGreaterThan(0)
      expect(await daemon.strategy.verify()).toMatchObject({ mismatches: [] })
      await daemon.stop(2_000)
      await chaos.close()
    }
  })

  it('replaces a newHeads subscription that goes silent without closing', async () => {
    const run = await startAaveDemo({ log: quiet(), accounts: 10 })
    cleanups.push(() => run.stop())
    await run.daemon.stop()
    const chaos = await startChaosProxy({ httpUrl: run.devnet.rpcUrl, wsUrl: run.devnet.wsUrl }, {})
    cleanups.push(() => chaos.close())
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const config = parseConfig(
      { devnet: run.devnetFile, rpcWs: chaos.wsUrl, dataDir: run.dataDir, blockTimeSeconds: 1 },
      env,
      registry,
    )
    const daemon = await startDaemon(config, env, quiet())
    cleanups.push(() => daemon.stop(2_000))
    const reconnects = async () => (await daemon.metrics.reconnects.get()).values[0]?.value ?? 0
    await until(() => daemon.engine.lastHead !== undefined)
    const before = await reconnects()
    const silencedAt = Date.now()
    chaos.silenceAll(60_000) // the old socket stays silent: only a new one brings heads again
    await until(async () => (await reconnects()) > before, 10_000)
    // Replaced within 3 block times (plus one check interval and the reconnect itself).
    expect(Date.now() - silencedAt).toBeLessThan(6_000)
    // And the head keeps moving over the new socket.
    const head = daemon.engine.lastHead?.number ?? 0n
    await until(() => (daemon.engine.lastHead?.number ?? 0n) >= head + 2n, 10_000)
  })
})
