/**
 * The engine with a fake strategy, executor and clock: heads in order, pending oracle updates
 * merged, stale backruns refused or cancelled, the watchdog, draining.
 */
import { createPublicClient, custom } from 'viem'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../../src/engine.js'
import type { Executor } from '../../../src/executor/executor.js'
import { createSimulationBatcher } from '../../../src/executor/simulationBatch.js'
import { createLogger } from '../../../src/logger.js'
import { createMetrics } from '../../../src/metrics.js'
import type { BlockHeader, Opportunity, PlanParams } from '../../../src/types.js'
import {
  fakeExecutor,
  fakeStrategy,
  header,
  opportunity,
  pendingTx,
  simulatedBlock,
  simulatedCall,
} from '../../support/fakes.js'

const ORACLE = '0x00000000000000000000000000000000000000fe' as const
/** Where the fake opportunities' calls go (test/support/fakes.ts). */
const CALL_TARGET = '0x00000000000000000000000000000000000000c0'
const settings = {
  maxConcurrent: 4,
  watchdogBlocks: 3,
  blockTimeMs: 1_000,
  snapshotEveryBlocks: 2,
  rankingTipWei: 0n,
}

function setup(
  plan: (p: PlanParams) => ReturnType<typeof opportunity>[],
  options: Parameters<typeof fakeExecutor>[0] = {},
) {
  let clock = 1_000_000
  const synced: bigint[] = []
  const { strategy, plans } = fakeStrategy({ plan, oracle: ORACLE })
  const exec = fakeExecutor(options)
  let persisted = 0
  const engine = createEngine({
    strategy,
    sync: async (h: BlockHeader) => {
      synced.push(h.number)
      return { changedAccounts: 0 }
    },
    executor: exec.executor,
    log: createLogger('silent'),
    metrics: createMetrics(),
    settings,
    persist: () => {
      persisted++
    },
    now: () => clock,
  })
  return {
    engine,
    strategy,
    plans,
    synced,
    exec,
    persisted: () => persisted,
    advance: (ms: number) => {
      clock += ms
    },
  }
}

describe('engine', () => {
  it('catches up to the block before the newest, never backwards', async () => {
    const t = setup(() => [])
    // Nodes can serve their newest block before its logs are queryable: start from the one before.
    const watcher = {
      ready: Promise.resolve(),
      stop: () => undefined,
      latestHead: async () => header(20),
      settledHead: async () => header(19),
    }
    await t.engine.catchUp(watcher)
    expect(t.synced).toEqual([19n])
    // A strategy already at (or past) the settled head is not sent back to it (a reconnect).
    ;(t.strategy as { head: { number: bigint; hash: string; timestamp: bigint } }).head = {
      number: 25n,
      hash: '0x25',
      timestamp: 1_025n,
    }
    await t.engine.catchUp(watcher)
    expect(t.synced).toEqual([19n])
  })

  it("a pending update sent before the first new head is planned on the mirror's own head", async () => {
    const t = setup(() => [])
    // Reproduces a missed backrun: the mirror was built at the newest block, the daemon started,
    // and an oracle update arrived before any new block did.
    const built = header(30)
    ;(t.strategy as { head: { number: bigint; hash: string; timestamp: bigint } }).head = {
      number: built.number,
      hash: built.hash,
      timestamp: built.timestamp,
    }
    const watcher = {
      ready: Promise.resolve(),
      stop: () => undefined,
      latestHead: async () => built,
      settledHead: async () => header(29),
    }
    await t.engine.catchUp(watcher)
    expect(t.synced).toEqual([])
    t.engine.onPendingTx(pendingTx(7, ORACLE))
    expect(t.plans).toHaveLength(1)
    expect([...(t.plans[0]?.predicted?.prices ?? [])]).toEqual([['a7', 7n]])
    // Planned for the block after the mirror's head.
    expect(t.plans[0]?.timestamp).toBeGreaterThan(built.timestamp)
  })

  it('handles heads in order: sync, then plan, then executes best first', async () => {
    const t = setup(() => [opportunity('k1', 5n), opportunity('k2', 9n), opportunity('k3', 1n)])
    t.engine.onHead(header(10))
    await t.engine.idle()
    t.engine.onHead(header(11))
    await t.engine.idle()
    expect(t.synced).toEqual([10n, 11n])
    expect(t.exec.blocks).toEqual([10n, 11n])
    // The first head's three opportunities, best first (all fit in maxConcurrent).
    expect(t.exec.executed.slice(0, 3).map((e) => e.key)).toEqual(['k2', 'k1', 'k3'])
    expect(t.plans).toHaveLength(2)
    expect(t.plans[0]?.predicted).toBeUndefined()
  })

  it('plans a pending update together with every update still pending, and forgets them at the next head', async () => {
    const t = setup(() => [])
    t.engine.onHead(header(1))
    await t.engine.idle()
    const first = pendingTx(7, ORACLE)
    const second = pendingTx(8, ORACLE)
    t.engine.onPendingTx(first)
    t.engine.onPendingTx(second)
    const [, p1, p2] = t.plans
    expect([...(p1?.predicted?.prices ?? [])]).toEqual([['a7', 7n]])
    expect([...(p2?.predicted?.prices ?? [])]).toEqual([
      ['a7', 7n],
      ['a8', 8n],
    ])
    expect(p2?.predicted?.tx.hash).toBe(second.hash)
    expect(p2?.predicted?.preceding?.map((tx) => tx.hash)).toEqual([first.hash])
    t.engine.onHead(header(2))
    await t.engine.idle()
    t.engine.onPendingTx(pendingTx(9, ORACLE))
    expect([...(t.plans.at(-1)?.predicted?.prices ?? [])]).toEqual([['a9', 9n]])
  })

  it('ignores pending transactions that are not oracle updates', async () => {
    const t = setup(() => [])
    t.engine.onHead(header(1))
    await t.engine.idle()
    t.engine.onPendingTx(pendingTx(1, '0x00000000000000000000000000000000000000aa'))
    expect(t.plans).toHaveLength(1)
  })

  it('a backrun planned on fewer pending updates is no longer current once a later one leaves its key healthy', async () => {
    // With update 7 alone, k1 is liquidatable; with 7 and 8, only k2.
    let open = () => {}
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const t = setup(
      (p) => {
        if (!p.predicted) return []
        const n = p.predicted.prices.size
        return n === 1
          ? [opportunity('k1', 5n, { dependsOn: p.predicted.tx })]
          : [opportunity('k2', 5n, { dependsOn: p.predicted.tx })]
      },
      { gate },
    )
    t.engine.onHead(header(1))
    await t.engine.idle()
    t.engine.onPendingTx(pendingTx(7, ORACLE))
    t.engine.onPendingTx(pendingTx(8, ORACLE))
    open()
    await t.engine.idle()
    // isCurrent is evaluated when the executor asks (after the second update arrived).
    const byKey = new Map(t.exec.executed.map((e) => [e.key, e.current]))
    expect(byKey.get('k1')).toBe(false)
    expect(byKey.get('k2')).toBe(true)
  })

  it('a liquidation planned on an older streamed price set is not current once the newest set leaves its key healthy', async () => {
    let open = () => {}
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const update = { updateData: ['0x01' as const], feeWei: 1n }
    const t = setup(
      (p) =>
        !p.streamed
          ? []
          : p.streamed.receivedAt === 1
            ? [opportunity('k1', 5n, { priceUpdate: update })]
            : [opportunity('k2', 5n, { priceUpdate: update })],
      { gate },
    )
    t.engine.onHead(header(1))
    await t.engine.idle()
    const feeds = [{ id: '0xaa', price: 1n, expo: -8, publishTime: 1n }]
    t.engine.onStreamedPrices({ feeds, updateData: ['0x01'], receivedAt: 1 })
    t.engine.onStreamedPrices({ feeds, updateData: ['0x02'], receivedAt: 2 })
    open()
    await t.engine.idle()
    const byKey = new Map(t.exec.executed.map((e) => [e.key, e.current]))
    expect(byKey.get('k1')).toBe(false)
    expect(byKey.get('k2')).toBe(true)
    // Every later head plan carries the newest streamed set.
    t.engine.onHead(header(2))
    await t.engine.idle()
    expect(t.plans.at(-1)?.streamed?.receivedAt).toBe(2)
  })

  it('cancels in-flight backruns whose key a later pending update makes healthy', async () => {
    const t = setup((p) => (p.predicted ? [opportunity('k2', 5n, { dependsOn: p.predicted.tx })] : []), {
      backruns: ['k1', 'k2'],
    })
    t.engine.onHead(header(1))
    await t.engine.idle()
    t.engine.onPendingTx(pendingTx(7, ORACLE))
    expect(t.exec.cancelled).toEqual(['k1'])
  })

  it('watchdog: unhealthy after watchdogBlocks block times without a head, healthy again on the next head', async () => {
    const t = setup(() => [])
    t.engine.onHead(header(1))
    await t.engine.idle()
    expect(t.engine.health().ok).toBe(true)
    t.advance(3_001)
    expect(t.engine.health()).toMatchObject({ ok: false, detail: 'no head for 3 s' })
    t.engine.onHead(header(2))
    await t.engine.idle()
    expect(t.engine.health().ok).toBe(true)
  })

  it('persists every snapshotEveryBlocks heads and on drain; after draining it takes no new heads', async () => {
    const t = setup(() => [opportunity('k1', 5n)])
    for (const n of [1, 2, 3, 4, 5]) {
      t.engine.onHead(header(n))
      await t.engine.idle()
    }
    expect(t.persisted()).toBe(2)
    await t.engine.drain(1_000)
    expect(t.persisted()).toBe(3)
    const executed = t.exec.executed.length
    t.engine.onHead(header(6))
    await t.engine.idle()
    expect(t.synced.at(-1)).toBe(5n)
    expect(t.exec.executed.length).toBe(executed)
  })

  it('a failed sync is counted and the loop goes on', async () => {
    const t = setup(() => [])
    let fail = true
    const engine = createEngine({
      strategy: fakeStrategy({ plan: () => [] }).strategy,
      sync: async () => {
        if (fail) {
          fail = false
          throw new Error('node hiccup')
        }
        return { changedAccounts: 0 }
      },
      executor: t.exec.executor,
      log: createLogger('silent'),
      metrics: createMetrics(),
      settings,
    })
    engine.onHead(header(1))
    engine.onHead(header(2))
    await engine.idle()
    expect(engine.lastHead?.number).toBe(2n)
  })

  it('retries a failed block at once with backoff, not one head late', async () => {
    const { strategy, plans } = fakeStrategy({ plan: () => [] })
    let failures = 1
    const synced: bigint[] = []
    const engine = createEngine({
      strategy,
      sync: async (h: BlockHeader) => {
        synced.push(h.number)
        if (failures-- > 0) throw new Error('HTTP request failed. Status: 502')
        return { changedAccounts: 0 }
      },
      executor: fakeExecutor().executor,
      log: createLogger('silent'),
      metrics: createMetrics(),
      settings: { ...settings, blockRetryBaseMs: 5 },
    })
    engine.onHead(header(7))
    // No second head arrives: the block is handled anyway.
    const deadline = Date.now() + 2_000
    while (plans.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(synced).toEqual([7n, 7n])
    expect(plans.length).toBe(1)
    expect(engine.lastHead?.number).toBe(7n)
  })

  it('coalesces heads that arrive while a block is handled: the newest wins, nothing backs up', async () => {
    const { strategy, plans } = fakeStrategy({ plan: () => [] })
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const synced: bigint[] = []
    const metrics = createMetrics()
    const engine = createEngine({
      strategy,
      sync: async (h: BlockHeader) => {
        synced.push(h.number)
        if (h.number === 1n) await gate
        return { changedAccounts: 0 }
      },
      executor: fakeExecutor().executor,
      log: createLogger('silent'),
      metrics,
      settings,
    })
    engine.onHead(header(1))
    await new Promise((r) => setTimeout(r, 0))
    for (let n = 2; n <= 9; n++) engine.onHead(header(n)) // a 250 ms chain while block 1 is slow
    release()
    await engine.idle()
    // Block 1, then straight to 9: the follower syncs 2–8's logs inside 9's sync; planned twice.
    expect(synced).toEqual([1n, 9n])
    expect(plans).toHaveLength(2)
    expect(engine.lastHead?.number).toBe(9n)
    expect((await metrics.headsCoalesced.get()).values[0]?.value).toBe(7)
    expect((await metrics.headLagBlocks.get()).values[0]?.value).toBe(0)
  })

  /** An engine with burst on and one execution at a time, whose pending updates open `count` opportunities; past its first head. */
  const burstEngine = async (count: number, executor: Executor) => {
    const { strategy } = fakeStrategy({
      plan: (p) =>
        p.predicted ? Array.from({ length: count }, (_, i) => opportunity(`k${i}`, BigInt(10 + i))) : [],
      oracle: ORACLE,
    })
    const engine = createEngine({
      strategy,
      sync: async () => ({ changedAccounts: 0 }),
      executor,
      log: createLogger('silent'),
      metrics: createMetrics(),
      settings: { ...settings, maxConcurrent: 1, burst: true },
    })
    engine.onHead(header(1))
    await engine.idle()
    return engine
  }

  it('with burst on, works every opportunity one pending update opens at once, not maxConcurrent at a time', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started = 0
    const executor = {
      ...fakeExecutor().executor,
      async execute() {
        started++
        await gate
        return 'sent' as const
      },
    }
    const engine = await burstEngine(6, executor)
    engine.onPendingTx(pendingTx(3, ORACLE))
    await new Promise((r) => setTimeout(r, 0))
    // All six are simulating and signing together while the first has not finished.
    expect(started).toBe(6)
    release()
    await engine.idle()
  })

  it('a burst starts every execution in one synchronous pass, so their simulations go to the node together', async () => {
    // The node: counts eth_simulateV1 requests and the liquidation calls in each.
    const perRequest: number[] = []
    const transport = custom({
      async request({ method, params }: { method: string; params?: unknown }) {
        if (method !== 'eth_simulateV1') throw new Error(`unscripted ${method}`)
        const [{ blockStateCalls }] = params as [{ blockStateCalls: { calls: { to: string }[] }[] }]
        const calls = blockStateCalls[0]?.calls ?? []
        perRequest.push(calls.filter((c) => c.to.toLowerCase() === CALL_TARGET).length)
        return simulatedBlock(calls.map(() => simulatedCall()))
      },
    })
    const batcher = createSimulationBatcher(createPublicClient({ transport }), ORACLE, 10)
    const executor = {
      ...fakeExecutor().executor,
      async execute(opp: Opportunity) {
        await batcher.simulate(opp)
        return 'sent' as const
      },
    }
    const engine = await burstEngine(12, executor)
    engine.onPendingTx(pendingTx(3, ORACLE))
    await engine.idle()
    expect(perRequest).toEqual([10, 2])
  })
})
