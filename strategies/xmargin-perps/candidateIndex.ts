/**
 * Which clearinghouse accounts a price move (and the time since) can have made liquidatable, found
 * by one float pass over typed arrays instead of the exact bigint health of every account.
 *
 * Per account, at reference prices p_f (one per feed) and its own reference time t0, the index
 * keeps the exact margin M = netValue − MM (bigint, then a float) and, per feed, a weight w_f that
 * bounds how much the margin can lose per unit of relative move of that feed:
 * - a collateral on the feed: its haircut value (netValue moves by it × (ρ − 1));
 * - a position on the feed: its notional N (the PnL moves by N × (ρ − 1)) plus N × the steepest
 *   maintenance rate of the market's bands × the volatility raise (MM is piecewise linear in the
 *   notional; at a band edge it can step by the floors in the cumulative mmAmount, which the slack
 *   below covers, computed from the stored bands rather than assumed);
 * and a drift d: the most funding can move netValue per second (Σ |size × rate|).
 * After prices P_f = p_f·ρ_f at time t, the margin is at least M − Σ w_f·|ρ_f − 1| − d·|t − t0| −
 * slack, where slack bounds every floor and truncation of the contract's arithmetic. An account is a
 * candidate unless that bound stays positive; candidates are then quoted with the exact math, so
 * the index only narrows and never decides. Accounts near the margin already sit in a watch set.
 *
 * Freshness (StalePrice) is global to a plan, not per account, so it is judged before the index.
 * Configuration changes (funding rates, volatilities, markets, collaterals) rebuild it; stored prices
 * far from the reference rebuild it too, since every candidate bound widens with the distance.
 */
import { accountHealth, bandMargins, haircutBps, type Prices, pricesOf, volatilityRaiseBps } from './math.js'
import type { AccountState, MarketState, PerpsState } from './state.js'

/** Stored prices this far (relative) from the reference make the next block rebuild the index. */
export const REBUILD_DRIFT = 0.01
/** Relative float error allowed on an account's gross figures (values, notionals, margins). */
const FLOAT_EPS = 1e-9
/** Wei per floor or truncation, doubled (before and after the move). */
const FLOOR_WEI = 4

const NONE = 0
const INDEXED = 1
const WATCHED = 2

const absBig = (x: bigint) => (x < 0n ? -x : x)

/**
 * The most MM can step at a band edge beyond its slope, summed over the market's edges (a move can
 * cross several): the contract's cumulative mmAmount floors each step's amount.
 */
function edgeSteps(m: MarketState): bigint {
  const mmOf = (notional: bigint, k: number) => bandMargins(m, k, notional).mm
  let total = 0n
  for (let k = 1; k < m.bands.length; k++) {
    const edge = m.bands[k - 1]?.notionalCap ?? 0n
    total += absBig(mmOf(edge, k) - mmOf(edge, k - 1)) + absBig(mmOf(edge + 1n, k) - mmOf(edge + 1n, k - 1))
  }
  return total
}

/** The steepest MM per unit of notional in a market: its highest band rate × the volatility raise. */
function steepest(m: MarketState): number {
  let mmr = 0n
  for (const b of m.bands) if (b.mmrBps > mmr) mmr = b.mmrBps
  return (Number(mmr) * Number(volatilityRaiseBps(m))) / 1e8
}

export class PerpsCandidateIndex {
  /** Lowercase feed id → column. */
  private readonly feedColumn = new Map<string, number>()
  private readonly collateralColumn: number[] = []
  private readonly marketColumn: number[] = []
  private readonly reference: bigint[]
  private readonly referencePrices: Prices
  private readonly slopes: number[]
  private readonly steps: bigint[]
  private readonly slotOf = new Map<string, number>()
  private readonly keys: string[] = []
  private capacity = 0
  private flag = new Uint8Array(0)
  private margin = new Float64Array(0)
  private slack = new Float64Array(0)
  private drift = new Float64Array(0)
  private t0 = new Float64Array(0)
  private weight = new Float64Array(0)
  private readonly columns: number

  private constructor(
    /** The state and configuration the index was built against: another one means rebuild. */
    readonly state: PerpsState,
    readonly collaterals: PerpsState['collaterals'],
    readonly markets: PerpsState['markets'],
    referencePrices: Prices,
  ) {
    for (const c of state.collaterals) this.collateralColumn[c.assetId] = this.column(c.feedId)
    for (const m of state.markets) this.marketColumn[m.marketId] = this.column(m.feedId)
    this.columns = this.feedColumn.size
    this.referencePrices = referencePrices
    this.reference = this.byColumn(referencePrices).map((p) => p ?? 0n)
    this.slopes = state.markets.map(steepest)
    this.steps = state.markets.map(edgeSteps)
  }

  private column(feedId: string): number {
    const id = feedId.toLowerCase()
    let column = this.feedColumn.get(id)
    if (column === undefined) {
      column = this.feedColumn.size
      this.feedColumn.set(id, column)
    }
    return column
  }

  /** Over every account at the stored prices and `timestamp`; undefined when a price is missing. */
  static build(state: PerpsState, timestamp: bigint): PerpsCandidateIndex | undefined {
    const prices = pricesOf(state)
    if (!prices) return undefined
    if ([...prices.collateral, ...prices.market].some((p) => p === undefined || p <= 0n)) return undefined
    const index = new PerpsCandidateIndex(state, state.collaterals, state.markets, prices)
    for (const key of state.accounts.keys()) index.refresh(key, timestamp)
    return index
  }

  /** Whether the index still describes `state` (same object, same configuration arrays). */
  describes(state: PerpsState): boolean {
    return this.state === state && this.collaterals === state.collaterals && this.markets === state.markets
  }

  /** A plan's prices by column (a feed read by a collateral and a market is one column). */
  private byColumn(prices: Prices): (bigint | undefined)[] {
    const out: (bigint | undefined)[] = new Array(this.columns)
    for (const c of this.state.collaterals)
      out[this.collateralColumn[c.assetId] as number] = prices.collateral[c.assetId]
    for (const m of this.state.markets)
      out[this.marketColumn[m.marketId] as number] = prices.market[m.marketId]
    return out
  }

  /** The largest relative distance of the stored prices from the reference. */
  storedDrift(): number {
    const prices = pricesOf(this.state)
    if (!prices) return Number.POSITIVE_INFINITY
    let worst = 0
    this.byColumn(prices).forEach((now, column) => {
      const before = this.reference[column] ?? 0n
      worst =
        now === undefined || before === 0n
          ? Number.POSITIVE_INFINITY
          : Math.max(worst, Math.abs(Number(now) / Number(before) - 1))
    })
    return worst
  }

  private ensure(slots: number) {
    if (slots <= this.capacity) return
    let capacity = Math.max(1024, this.capacity)
    while (capacity < slots) capacity *= 2
    const grow = <A extends Float64Array | Uint8Array>(a: A, width = 1): A => {
      const next = new (a.constructor as new (n: number) => A)(capacity * width)
      next.set(a)
      return next
    }
    this.flag = grow(this.flag)
    this.margin = grow(this.margin)
    this.slack = grow(this.slack)
    this.drift = grow(this.drift)
    this.t0 = grow(this.t0)
    this.weight = grow(this.weight, this.columns)
    this.capacity = capacity
  }

  /** Recomputes one account (after its balances or positions changed) at the reference prices. */
  refresh(key: string, timestamp: bigint): void {
    let slot = this.slotOf.get(key)
    if (slot === undefined) {
      slot = this.keys.length
      this.ensure(slot + 1)
      this.keys.push(key)
      this.slotOf.set(key, slot)
    }
    const account = this.state.accounts.get(key)
    const base = slot * this.columns
    this.weight.fill(0, base, base + this.columns)
    if (!account || account.positions.size === 0) {
      // planPerps skips accounts without a position; opening one touches the account.
      this.flag[slot] = NONE
      return
    }
    const verdict = this.describe(account, timestamp, base)
    this.t0[slot] = Number(timestamp)
    this.margin[slot] = verdict.margin
    this.slack[slot] = verdict.slack
    this.drift[slot] = verdict.drift
    this.flag[slot] = verdict.margin > verdict.slack ? INDEXED : WATCHED
  }

  private describe(account: AccountState, timestamp: bigint, base: number) {
    const state = this.state
    const prices = this.referencePrices
    const health = accountHealth(state, account, prices, timestamp)
    let gross = Math.abs(Number(health.netValue)) + Number(health.maintenanceMargin)
    let floors = FLOOR_WEI
    let stepWei = 0n
    for (const c of state.collaterals) {
      const amount = account.balances.get(c.assetId) ?? 0n
      if (amount === 0n) continue
      const value =
        ((Number(amount) * Number(prices.collateral[c.assetId] ?? 0n)) / 10 ** c.decimals) *
        (1 - Number(haircutBps(c)) / 1e4)
      const column = base + (this.collateralColumn[c.assetId] as number)
      this.weight[column] = (this.weight[column] as number) + Math.abs(value)
      gross += Math.abs(value)
      floors += FLOOR_WEI
    }
    let drift = 0
    for (const m of state.markets) {
      const p = account.positions.get(m.marketId)
      if (!p || p.size === 0n) continue
      const notional = (Math.abs(Number(p.size)) * Number(prices.market[m.marketId] ?? 0n)) / 1e18
      const column = base + (this.marketColumn[m.marketId] as number)
      // The PnL leg, the MM leg at its steepest, and (below) the floors of both and of funding.
      this.weight[column] =
        (this.weight[column] as number) + notional * (1 + (this.slopes[m.marketId] as number))
      drift += (Math.abs(Number(p.size)) * Math.abs(Number(m.fundingRatePerSecond))) / 1e18
      gross += notional
      // PnL truncation, funding truncation, and MM's three floors (notional, rate, raise).
      floors += 4 * FLOOR_WEI
      stepWei += this.steps[m.marketId] ?? 0n
    }
    const margin = Number(health.netValue - health.maintenanceMargin)
    const slack = floors + Number(stepWei) + FLOAT_EPS * gross
    return { margin, slack, drift }
  }

  /**
   * The accounts that can be liquidatable at `prices` and `timestamp` (a superset), in slot order;
   * undefined when the index cannot say (a missing or zero reference).
   */
  candidates(prices: Prices, timestamp: bigint): string[] | undefined {
    const moved: number[] = []
    const deviation: number[] = []
    const current = this.byColumn(prices)
    for (let column = 0; column < this.columns; column++) {
      const before = this.reference[column] ?? 0n
      const price = current[column]
      if (price === undefined || before === 0n) return undefined
      if (price === before) continue
      moved.push(column)
      // A hair wider than the float ratio's own error.
      deviation.push(Math.abs(Number(price) / Number(before) - 1) * (1 + 1e-12) + 1e-15)
    }
    const t = Number(timestamp)
    const out: string[] = []
    const { flag, margin, slack, drift, t0, weight, columns, keys } = this
    const movedCount = moved.length
    for (let slot = 0; slot < keys.length; slot++) {
      const f = flag[slot]
      if (f === NONE) continue
      if (f === WATCHED) {
        out.push(keys[slot] as string)
        continue
      }
      let loss = (drift[slot] as number) * Math.abs(t - (t0[slot] as number))
      const base = slot * columns
      for (let i = 0; i < movedCount; i++)
        loss += (weight[base + (moved[i] as number)] as number) * (deviation[i] as number)
      if ((margin[slot] as number) - loss <= (slack[slot] as number)) out.push(keys[slot] as string)
    }
    return out
  }
}
