/**
 * Per-block planning that re-evaluates only what can have changed, with the same result as planning
 * every account (a property test holds it to that). Candidates at a block:
 * - accounts marked dirty since the last plan: positions that changed, accounts exposed to a price
 *   that moved or to a reserve whose configuration changed (everything, after a reload);
 * - every account currently liquidatable (its amounts accrue and the gas price moves);
 * - accounts whose health accrual alone could have brought to 1 by now. Interest only lowers health
 *   through debt, which grows no faster than e^(r·t) at the highest borrow rate r of any reserve, so
 *   an account at health h cannot reach 1 before ln(h)/r seconds; it waits in a time-ordered heap
 *   until then. The bound uses a rate cap above every reserve's current rate; a reserve whose rate
 *   goes past it raises the cap and reschedules everyone.
 * Index updates alone need nothing: they materialize accrual the bound already covers.
 */
import type { AaveOpportunity, PlanParams } from './plan.js'
import { planLiquidations } from './plan.js'
import { type FloatBalances, SAFETY } from './prefilter.js'
import type { MarketState } from './state.js'

const RAY = 1e27
const SECONDS_PER_YEAR = 365 * 24 * 3600
/** The floor of the rate cap: 100% a year. */
const MIN_RATE_CAP = 1.0 / SECONDS_PER_YEAR

/**
 * A binary min-heap of (due time, account): times in whole seconds as numbers (exact: timestamps
 * are far below 2^53), in parallel arrays, so a whole-market plan scheduling every account makes
 * no object per entry and compares no bigints.
 */
class DueHeap {
  private at: number[] = []
  private keys: string[] = []
  get size() {
    return this.at.length
  }
  push(at: number, key: string) {
    const times = this.at
    const keys = this.keys
    let i = times.length
    times.push(at)
    keys.push(key)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((times[parent] as number) <= at) break
      times[i] = times[parent] as number
      keys[i] = keys[parent] as string
      i = parent
    }
    times[i] = at
    keys[i] = key
  }
  /** The earliest entry's time (undefined when empty). */
  peekAt(): number | undefined {
    return this.at[0]
  }
  /** Removes the earliest entry; returns its key. */
  pop(): string | undefined {
    const times = this.at
    const keys = this.keys
    const top = keys[0]
    const lastAt = times.pop()
    const lastKey = keys.pop()
    const n = times.length
    if (n > 0 && lastAt !== undefined && lastKey !== undefined) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const m = r < n && (times[r] as number) < (times[l] as number) ? r : l
        if ((times[m] as number) >= lastAt) break
        times[i] = times[m] as number
        keys[i] = keys[m] as string
        i = m
      }
      times[i] = lastAt
      keys[i] = lastKey
    }
    return top
  }
  clear() {
    this.at = []
    this.keys = []
  }
}

export interface BlockPlanner {
  markDirty(keys: Iterable<string>): void
  /** After a reload, a rollback or a rebuild: everything is a candidate once. */
  markAll(): void
  /** `floats`: the strategy's float balances, so a whole-market plan skips clearly healthy accounts. */
  plan(market: MarketState, params: PlanParams, floats?: FloatBalances): AaveOpportunity[]
  /** Candidates evaluated by the last plan (for the bench and tests). */
  readonly lastEvaluated: number
}

/** The fastest any debt in the market grows, per second: reserve rates and (v3.0) every account's own stable rate. */
function maxBorrowRatePerSecond(market: MarketState): number {
  let max = 0n
  let stable = false
  for (const r of market.reserves.values()) {
    if (r.variableBorrowRate > max) max = r.variableBorrowRate
    if (r.stableBorrowRate > max) max = r.stableBorrowRate
    stable ||= r.stableBorrowingEnabled
  }
  if (stable)
    for (const p of market.accounts.values())
      for (const d of p.stable?.values() ?? []) if (d.rate > max) max = d.rate
  return Number(max) / RAY / SECONDS_PER_YEAR
}

export function createBlockPlanner(): BlockPlanner {
  let all = true
  const dirty = new Set<string>()
  /**
   * The accounts the last plan found liquidatable. Every one is a candidate of the next plan, which
   * either plans it again or finds it healthy (or gone): so after a plan this is exactly its keys.
   */
  let liquidatable: string[] = []
  const due = new DueHeap()
  /** The latest scheduled time per account (seconds): older heap entries for it are stale. */
  const dueAt = new Map<string, number>()
  let rateCap = MIN_RATE_CAP
  let lastEvaluated = 0

  const schedule = (key: string, healthFactor: bigint, now: bigint) => {
    // No debt: nothing accrues against it; a position change will mark it dirty.
    if (healthFactor >= 2n ** 255n) {
      dueAt.delete(key)
      return
    }
    scheduleAt(key, Number(healthFactor) / 1e18, now)
  }
  const scheduleAt = (key: string, h: number, now: bigint) => {
    if (h === Number.POSITIVE_INFINITY) {
      dueAt.delete(key)
      return
    }
    // Below 1 but not liquidatable (a grace period, dust): every block. The float only delays an
    // exact evaluation, conservatively (a second early, never late).
    const seconds = h <= 1 ? 0 : Math.floor(Math.log(h) / rateCap) - 1
    const at = Number(now) + Math.max(0, seconds)
    dueAt.set(key, at)
    due.push(at, key)
  }

  return {
    markDirty(keys) {
      if (all) return
      for (const key of keys) dirty.add(key)
    },
    markAll() {
      all = true
    },
    get lastEvaluated() {
      return lastEvaluated
    },
    plan(market, params, floats) {
      const maxRate = maxBorrowRatePerSecond(market)
      if (maxRate > rateCap) {
        rateCap = Math.max(maxRate * 2, rateCap * 2)
        all = true
      }
      let candidates: Set<string> | undefined
      if (all) {
        due.clear()
        dueAt.clear()
      } else {
        candidates = new Set(dirty)
        for (const key of liquidatable) candidates.add(key)
        const now = Number(params.timestamp)
        for (let at = due.peekAt(); at !== undefined && at <= now; at = due.peekAt()) {
          const key = due.pop() as string
          if (dueAt.get(key) === at) {
            dueAt.delete(key)
            candidates.add(key)
          }
        }
      }
      all = false
      dirty.clear()
      lastEvaluated = candidates?.size ?? market.accounts.size
      // Nothing changed, nothing due, nothing liquidatable (most blocks of a quiet market): no plan.
      if (candidates?.size === 0) return []
      const now = params.timestamp
      // Healthy accounts are scheduled as the plan reports them (no list of them in between).
      const planned = planLiquidations(
        market,
        { ...params, predicted: undefined },
        {
          // A whole-market plan walks the account map's entries (no lookup per key).
          ...(candidates ? { only: candidates } : {}),
          onEvaluated: (key, healthFactor, yielded) => {
            if (!yielded) schedule(key, healthFactor, now)
          },
          // Clearly healthy candidates (most of those whose position changed) are judged by the
          // float estimate and scheduled by it, less the prefilter's margin: never later than exact.
          ...(floats
            ? {
                floats,
                onEstimated: (key: string, estimate: number) => scheduleAt(key, estimate / SAFETY, now),
              }
            : {}),
        },
      )
      // Planned: liquidatable now, so off the due heap. Candidates without a position any more
      // (repaid, gone) are neither planned nor reported: they simply drop out. The plan is already
      // ranked; the whole liquidatable set is what it returned.
      liquidatable = planned.map((o) => o.key)
      for (const key of liquidatable) dueAt.delete(key)
      return planned
    },
  }
}
