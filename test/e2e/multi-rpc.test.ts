/**
 * Two RPC endpoints in front of one node (each behind its own proxy): an endpoint that lags 5 blocks
 * is demoted and restored when it catches up, the daemon keeping the head all along; then the other
 * endpoint dies mid-run and nothing is lost: prices still move, every profitable account is
 * liquidated, the mirror stays exact.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { startDaemon } from '../../src/daemon.js'
import { DEMO_LIQUIDATOR_KEY, sendPendingPrice, waitUntilSettled } from '../../src/demo.js'
import { createLogger } from '../../src/logger.js'
import { setPrice } from '../../strategies/aave-v3/devnet/index.js'
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

describe('several RPC endpoints', () => {
  it('demotes a lagging endpoint, survives the other dying, and loses nothing', async () => {
    const run = await startAaveDemo({ log: quiet() })
    cleanups.push(() => run.stop())
    await run.daemon.stop()
    const target = { httpUrl: run.devnet.rpcUrl, wsUrl: run.devnet.wsUrl }
    const a = await startChaosProxy(target, {})
    const b = await startChaosProxy(target, {})
    cleanups.push(
      () => a.close(),
      () => b.close(),
    )
    const file = join(run.dataDir, '..', 'multi.json')
    writeFileSync(
      file,
      JSON.stringify({
        devnet: run.devnetFile,
        // b has no WebSocket: its heads come from polling it, so its lag shows.
        rpc: [{ http: a.httpUrl, ws: a.wsUrl }, { http: b.httpUrl }],
        rpcMaxLagBlocks: 3,
        blockTimeSeconds: 1,
        dataDir: run.dataDir,
        execution: { minProfitUsd: run.minProfitUsd },
      }),
    )
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const daemon = await startDaemon(parseConfig({ config: file }, env, registry), env, quiet())
    cleanups.push(() => daemon.stop(5_000))
    const demoted = async (endpoint: string) =>
      (await daemon.metrics.endpointDemoted.get()).values.find((v) =>
        String(v.labels.endpoint).startsWith(endpoint),
      )?.value ?? 0
    const chainHead = () => run.devnet.client.getBlockNumber()

    // b falls 5 blocks behind: demoted; the daemon keeps the chain's head.
    b.set({ lagBlocks: 5 })
    await until(async () => (await demoted('1:')) === 1, 15_000)
    const head = await chainHead()
    await until(() => daemon.strategy.head.number >= head, 5_000)
    expect(b.stats.lagging ?? 0).toBeGreaterThan(0)
    // Caught up: restored.
    b.set({})
    await until(async () => (await demoted('1:')) === 0, 15_000)

    // a shock, then a dies; another shock lands through b alone.
    await sendPendingPrice(run, 'WETH', '1700')
    expect(await waitUntilSettled({ ...run, daemon })).toBe(true)
    const before = daemon.executor.records.length
    await a.kill()
    await setPrice(run.devnet, 'WBTC', '30000', run.devnet.client)
    await sendPendingPrice(run, 'WETH', '1450')
    expect(await waitUntilSettled({ ...run, daemon })).toBe(true)
    expect(daemon.executor.records.length).toBeGreaterThan(before)
    const after = await chainHead()
    await until(() => daemon.strategy.head.number >= after, 10_000)
    const errors = (await daemon.metrics.endpointErrors.get()).values.reduce((n, v) => n + v.value, 0)
    expect(errors).toBeGreaterThan(0)
    expect(await daemon.strategy.verify()).toMatchObject({ mismatches: [] })
    // Nothing sent twice, nothing reverted.
    const inclusions = (await daemon.metrics.inclusions.get()).values
    expect(inclusions.filter((v) => v.labels.status === 'reverted').reduce((n, v) => n + v.value, 0)).toBe(0)
    const perBlock = new Set(
      daemon.executor.records.map((r) => `${r.blockNumber}:${r.account.toLowerCase()}`),
    )
    expect(perBlock.size).toBe(daemon.executor.records.length)
  })
})
