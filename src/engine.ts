/**
 * The engine: the only loop. Heads are handled one at a time, in order (sync the mirror, track
 * in-flight transactions, plan, queue, dispatch); pending oracle updates are planned at once at the
 * predicted prices. It owns concurrency (p-queue), the opportunity queue, the watchdog, periodic
 * snapshots and graceful draining. It is the error boundary: a failed event is logged and counted.
 */

import PQueue from 'p-queue'
import type { L1FeeOracle } from './chain/l1Fee.js'
import type { ChainWatcher } from './collectors/chainWatcher.js'
import { errorText } from './errors.js'
import type { Executor } from './executor/executor.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'
import { createOpportunityQueue } from './queue/opportunityQueue.js'
import type {
  BlockHeader,
  LiquidationEvent,
  Opportunity,
  PendingTx,
  PredictedPrice,
  Strategy,
  StreamedPrices,
  SyncResult,
} from './types.js'

export interface EngineSettings {
  maxConcurrent: number
  watchdogBlocks: number
  /** Expected block interval; refined from observed heads. */
  blockTimeMs: number
  snapshotEveryBlocks: number
  /** Typical priority fee used to rank opportunities before simulation. */
  rankingTipWei: bigint
  /** Accounts per block the differential check adds to those about to be liquidated (0: off). */
  crossCheckSample?: number
  /** First delay before a failed block is retried (doubling, up to 5 s; default 200 ms). */
  blockRetryBaseMs?: number
  /**
   * Work everything one pending update or streamed price set opens at once (up to
   * burstConcurrency, default 64) instead of maxConcurrent at a time (the daemon's default; off
   * here unless set). Under load more of a burst can miss its target block: a liquidation that
   * lands a block late is still exact for the block it lands in, only not for the one planned.
   */
  burst?: boolean
  burstConcurrency?: number
}

export interface EngineDeps {
  strategy: Strategy
  /** Brings the strategy to a head (the chain follower: logs, gaps, reorgs). */
  sync(header: BlockHeader): Promise<SyncResult>
  executor: Executor
  log: Logger
  metrics: Metrics
  settings: EngineSettings
  /** Liquidations that landed in a block just synced (anyone's): told without waiting on it. */
  onLiquidations?: ((events: LiquidationEvent[], header: BlockHeader) => void) | undefined
  /** Saves a snapshot; `final` at shutdown (then it may take as long as it needs). */
  persist?: ((final?: boolean) => void) | undefined
  /** OP-stack chains: the L1 data fee, sampled per head and subtracted in ranking. */
  l1Fee?: L1FeeOracle | undefined
  now?: () => number
}

export interface Engine {
  /** Attach to a watcher's events (the watcher calls these). */
  onHead(header: BlockHeader): void
  onPendingTx(tx: PendingTx): void
  /** A complete set of off-chain prices (a pull oracle's stream): plan at them now. */
  onStreamedPrices(prices: StreamedPrices): void
  /** Sync to the node's latest head now (after a reconnect, at start). */
  catchUp(watcher: ChainWatcher): Promise<void>
  health(): { ok: boolean; detail: string }
  /** Stops taking new work, waits for in-flight transactions (up to timeoutMs), persists. */
  drain(timeoutMs: number): Promise<void>
  idle(): Promise<void>
  readonly lastHead: BlockHeader | undefined
}

export function createEngine(deps: EngineDeps): Engine {
  const { strategy, executor, log, metrics, settings } = deps
  const now = deps.now ?? Date.now
  const chainQueue = new PQueue({ concurrency: 1 })
  const burstLimit = Math.max(settings.maxConcurrent, settings.burstConcurrency ?? 64)
  const execQueue = new PQueue({ concurrency: burstLimit })
  const queue = createOpportunityQueue()
  let lastHead: BlockHeader | undefined
  /**
   * The mirror's own head, known from the start-up catch-up: a pending oracle update arriving
   * before the first new head is planned on it (it would otherwise go unplanned).
   */
  let startHead: BlockHeader | undefined
  let lastHeadAt = now()
  let blockTimeMs = settings.blockTimeMs
  let intervalsSeen = 0
  let draining = false
  let persistedAt: bigint | undefined
  let unhealthy = ''
  /** Oracle updates seen pending since the last head, in arrival order: planned together. */
  let pendingOracle: PredictedPrice[] = []
  /** The newest off-chain prices: every plan uses them (their update rides in the call). */
  let streamed: StreamedPrices | undefined
  /** Keys liquidatable at the newest streamed prices (undefined: no stream). */
  let liquidatableWithLatestStream: Set<string> | undefined
  /** Keys liquidatable under every pending update seen so far (undefined: none pending). */
  let liquidatableWithAllPending: Set<string> | undefined

  /** A backrun planned on fewer pending updates than are now known is current only if the account
   * is still liquidatable with all of them. */
  const isCurrent = (opportunity: Opportunity) =>
    (!opportunity.dependsOn ||
      liquidatableWithAllPending === undefined ||
      liquidatableWithAllPending.has(opportunity.key)) &&
    // One planned on an older streamed set: still current only if the newest set agrees.
    (!opportunity.priceUpdate ||
      liquidatableWithLatestStream === undefined ||
      liquidatableWithLatestStream.has(opportunity.key))

  /**
   * The next block's timestamp, on the chain's own clock (exactness needs it: funding and interest
   * accrue per second, and a devnet's or an L2's block clock can sit seconds off the wall clock):
   * the head's plus the block interval, plus the whole intervals that passed since that head
   * arrived when the next one is late.
   */
  const nextTimestamp = (head: BlockHeader): bigint => {
    const intervalMs = Math.max(1000, Math.round(blockTimeMs / 1000) * 1000)
    const late = lastHead === head ? Math.floor(Math.max(0, now() - lastHeadAt) / intervalMs) : 0
    return head.timestamp + BigInt((1 + late) * (intervalMs / 1000))
  }
  const rankingGasPrice = (head: BlockHeader) => (head.baseFeePerGas ?? 0n) + settings.rankingTipWei

  function dispatch(head: BlockHeader, burst = false) {
    if (draining) return
    const limit = burst ? burstLimit : settings.maxConcurrent
    while (execQueue.size + execQueue.pending < limit) {
      const opportunity = queue.pop()
      if (!opportunity) break
      if (executor.isBusy(opportunity.key)) continue
      execQueue
        .add(async () => {
          await executor.execute(opportunity, head, () => isCurrent(opportunity))
          dispatch(head)
        })
        .catch((error: unknown) => {
          metrics.eventErrors.inc({ type: 'execute' })
          log.error({ err: errorText(error), account: opportunity.account }, 'execution failed')
        })
    }
    metrics.queueSize.set(queue.size)
  }

  /** Into the queue, ranked net of the L1 data fee where the chain charges one. */
  function enqueue(opportunities: Opportunity[]) {
    const l1Fee = deps.l1Fee
    if (l1Fee) {
      const native = strategy.nativePriceBase()
      for (const o of opportunities) o.netProfitBase -= (l1Fee.estimateWei(o.call.data) * native) / 10n ** 18n
    }
    for (const opportunity of opportunities) queue.upsert(opportunity)
  }

  let checking = false
  /**
   * Off the head path: compares the accounts about to be liquidated and a rotating sample with the
   * protocol's own view. One check at a time; a mismatch is logged with its fields, counted, and the
   * account resynced in the chain queue (so it cannot interleave with a block being applied).
   */
  function crossCheck(accounts: string[]) {
    const sample = settings.crossCheckSample ?? 0
    if (!strategy.crossCheck || checking || draining || (sample === 0 && accounts.length === 0)) return
    checking = true
    strategy
      .crossCheck({ include: accounts, sample })
      .then((result) => {
        metrics.mirrorChecked.inc(result.checked)
        const wrong = [...new Set(result.mismatches.map((m) => m.account))]
        if (wrong.length === 0) return
        metrics.mirrorMismatches.inc(wrong.length)
        for (const m of result.mismatches)
          log.warn(
            { block: result.blockNumber, ...m },
            'mirror differs from the chain; resyncing the account',
          )
        const resync = strategy.resync
        if (resync)
          chainQueue
            .add(() => resync.call(strategy, wrong))
            .catch((error: unknown) => {
              log.error({ err: errorText(error), accounts: wrong }, 'resync failed')
            })
      })
      .catch((error: unknown) => log.warn({ err: errorText(error) }, 'differential check failed'))
      .finally(() => {
        checking = false
      })
  }

  async function handleHead(header: BlockHeader) {
    const started = now()
    if (lastHead && header.number > lastHead.number && header.timestamp > lastHead.timestamp) {
      const observed =
        (Number(header.timestamp - lastHead.timestamp) * 1000) / Number(header.number - lastHead.number)
      // The first interval replaces the configured guess; later ones smooth it.
      blockTimeMs = intervalsSeen++ === 0 ? observed : blockTimeMs * 0.8 + observed * 0.2
    }
    const l1Refresh = deps.l1Fee?.refresh().catch((error: unknown) => {
      log.warn({ err: errorText(error) }, 'L1 fee sample failed; ranking keeps the previous one')
    })
    const result = await deps.sync(header)
    if (result.liquidations) deps.onLiquidations?.(result.liquidations, header)
    await l1Refresh
    // A new block has most likely carried the pending updates; their prices now come from logs.
    pendingOracle = []
    liquidatableWithAllPending = undefined
    if (result.reorgedTo !== undefined || result.rebuilt) metrics.reorgs.inc()
    lastHead = header
    lastHeadAt = now()
    metrics.headBlock.set(Number(header.number))
    metrics.headLagBlocks.set(Number((newestSeen ?? header.number) - header.number))
    metrics.stageSeconds.observe({ stage: 'sync' }, (now() - started) / 1000)
    await executor.onBlock(header)
    if (draining) return
    const planStarted = now()
    const opportunities = strategy.plan({
      timestamp: nextTimestamp(header),
      gasPriceWei: rankingGasPrice(header),
      ...(streamed ? { streamed } : {}),
    })
    metrics.stageSeconds.observe({ stage: 'plan' }, (now() - planStarted) / 1000)
    queue.clearBlockEntries(header.number)
    enqueue(opportunities)
    metrics.accountsTracked.set(strategy.accountCount())
    metrics.accountsUnderwater.set(opportunities.length)
    if (opportunities.length > 0) {
      log.debug(
        { block: header.number, opportunities: opportunities.length, best: opportunities[0]?.account },
        'opportunities',
      )
    }
    dispatch(header)
    crossCheck(opportunities.map((o) => o.account))
    // By chain distance, not by heads handled: coalesced heads still count.
    persistedAt ??= header.number
    if (deps.persist && header.number - persistedAt >= BigInt(settings.snapshotEveryBlocks)) {
      persistedAt = header.number
      deps.persist()
    }
  }

  /**
   * Heads coalesce: while a block is being handled, later heads only replace the one waiting, so the
   * newest wins and the engine never builds a backlog (the chain follower still syncs every skipped
   * block's logs; they are just not planned one by one). A failed block is retried at once with
   * backoff; a newer head that arrives meanwhile supersedes the retry.
   */
  let waiting: BlockHeader | undefined
  let scheduled = false
  let newestSeen: bigint | undefined
  function enqueueHead(header: BlockHeader, attempt: number) {
    if (draining && executor.inFlightCount() === 0) return
    // A retry of a block that a newer handled head already covered would look like a reorg.
    if (attempt > 0 && lastHead && lastHead.number >= header.number) return
    if (newestSeen === undefined || header.number > newestSeen) newestSeen = header.number
    if (!waiting || header.number >= waiting.number) waiting = header
    else return
    if (scheduled) {
      metrics.headsCoalesced.inc()
      return
    }
    scheduled = true
    let handling: BlockHeader | undefined
    chainQueue
      .add(async () => {
        scheduled = false
        handling = waiting
        waiting = undefined
        if (handling) await handleHead(handling)
      })
      .catch((error: unknown) => {
        metrics.eventErrors.inc({ type: 'block' })
        const delay = Math.min(5_000, (settings.blockRetryBaseMs ?? 200) * 2 ** attempt)
        log.error(
          { err: errorText(error), block: handling?.number, retryInMs: delay },
          'block handling failed; retrying',
        )
        const failed = handling
        if (!failed) return
        const timer = setTimeout(() => enqueueHead(failed, attempt + 1), delay)
        timer.unref?.()
      })
  }

  const engine: Engine = {
    get lastHead() {
      return lastHead
    },
    onHead(header) {
      enqueueHead(header, 0)
    },
    onPendingTx(tx) {
      log.trace({ tx: tx.hash, to: tx.to }, 'pending transaction')
      if (draining) return
      try {
        const decoded = strategy.decodePendingPrice(tx)
        const head = lastHead ?? startHead
        if (!decoded || !head) return
        // Every oracle update still pending lands before a backrun of the last one: plan with all.
        const prices = new Map<string, bigint>()
        for (const earlier of pendingOracle)
          for (const [asset, price] of earlier.prices) prices.set(asset, price)
        for (const [asset, price] of decoded.prices) prices.set(asset, price)
        const predicted: PredictedPrice = { prices, tx, preceding: pendingOracle.map((p) => p.tx) }
        pendingOracle.push(decoded)
        const timestamp = nextTimestamp(head)
        const opportunities = strategy.plan({
          timestamp,
          predicted,
          gasPriceWei: rankingGasPrice(head),
        })
        metrics.stageSeconds.observe({ stage: 'pending_to_plan' }, (now() - tx.seenAt) / 1000)
        log.info(
          { tx: tx.hash, assets: [...predicted.prices.keys()], opportunities: opportunities.length },
          'pending oracle update',
        )
        enqueue(opportunities)
        // A backrun sent on the earlier updates alone may now face a healthy account: cancel it
        // rather than let it revert on chain.
        const stillLiquidatable = new Set(opportunities.map((o) => o.key))
        liquidatableWithAllPending = stillLiquidatable
        for (const key of executor.inFlightBackruns())
          if (!stillLiquidatable.has(key))
            void executor.cancel(key, `not liquidatable after pending update ${tx.hash}`)
        // One still liquidatable lands before this update, at the old prices: what it seizes may be
        // worth less than it repays once this lands.
        executor.repriceBackruns(prices, timestamp, `a loss at the prices of pending update ${tx.hash}`)
        dispatch(head, settings.burst === true)
      } catch (error) {
        metrics.eventErrors.inc({ type: 'pendingTx' })
        log.error({ err: errorText(error), tx: tx.hash }, 'pending transaction handling failed')
      }
    },
    onStreamedPrices(prices) {
      streamed = prices
      if (draining || !lastHead) return
      try {
        const head = lastHead
        const planStarted = now()
        const opportunities = strategy.plan({
          timestamp: nextTimestamp(head),
          gasPriceWei: rankingGasPrice(head),
          streamed: prices,
        })
        metrics.stageSeconds.observe({ stage: 'stream_to_plan' }, (now() - planStarted) / 1000)
        liquidatableWithLatestStream = new Set(opportunities.map((o) => o.key))
        enqueue(opportunities)
        if (opportunities.length > 0)
          log.info({ opportunities: opportunities.length, best: opportunities[0]?.key }, 'streamed prices')
        dispatch(head, settings.burst === true)
      } catch (error) {
        metrics.eventErrors.inc({ type: 'streamedPrices' })
        log.error({ err: errorText(error) }, 'streamed price handling failed')
      }
    },
    async catchUp(watcher) {
      const head = await watcher.settledHead()
      // Not behind it: nothing to catch up (a reorg meanwhile shows in the next head's parent).
      if (head.number <= strategy.head.number) {
        // The mirror's own head is the reference a pending oracle update is planned on until the
        // next block: without it an update sent before the first new head would go unplanned.
        if (!lastHead) {
          const mirrored = head.hash === strategy.head.hash ? head : await watcher.latestHead()
          if (mirrored.hash === strategy.head.hash) startHead = mirrored
        }
        return
      }
      engine.onHead(head)
      await chainQueue.onIdle()
    },
    health() {
      const silentMs = now() - lastHeadAt
      const limit = settings.watchdogBlocks * blockTimeMs
      if (silentMs > limit) {
        if (!unhealthy) log.warn({ silentMs, limitMs: Math.round(limit) }, 'watchdog: no new head')
        unhealthy = `no head for ${Math.round(silentMs / 1000)} s`
        return { ok: false, detail: unhealthy }
      }
      unhealthy = ''
      return { ok: true, detail: `head ${lastHead?.number ?? 'none'}` }
    },
    async drain(timeoutMs) {
      draining = true
      const deadline = now() + timeoutMs
      await execQueue.onIdle()
      while (executor.inFlightCount() > 0 && now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100))
      await chainQueue.onIdle()
      deps.persist?.(true)
    },
    async idle() {
      await chainQueue.onIdle()
      await execQueue.onIdle()
    },
  }
  return engine
}
