/**
 * A float64 estimate of an account's health factor, to skip the exact bigint evaluation of accounts
 * that are clearly healthy. It only ever skips: an account estimated within SAFETY of the threshold
 * (or one the estimate does not model: stable debt) is evaluated exactly,
 * and nothing is planned or sent on the estimate. (v3.0 eMode price sources are modelled too.) Float error is ~1e-15 relative and the contracts'
 * rounding at most a base unit or two per value, far inside the margin for any account worth
 * liquidating.
 */

import type { Reach } from './exposure.js'
import { debtIndexOf, incomeOf, type MarketView } from './math.js'
import type { AccountPosition } from './state.js'

/** Health above 1.0001 (estimated) is not evaluated exactly. */
export const SAFETY = 1.0001

export interface FloatView {
  /** Per reserve id: collateral value per scaled unit (× LT), debt value per scaled unit. */
  collateral: Float64Array
  debt: Float64Array
  /**
   * Per reserve id: the most the contract's rounding can move that reserve's value (base units):
   * half a token unit of balance (rayMul) and one base unit of value (floor or ceil), × LT for
   * collateral. Negligible for any position worth liquidating, decisive for dust.
   */
  collateralSlack: Float64Array
  debtSlack: Float64Array
  /** Collateral that counts (a non-zero threshold, or a version where zero still counts). */
  counts: Uint8Array
  masks: bigint[]
  eModes: Map<
    number,
    {
      collateral: Float64Array
      debt: Float64Array
      collateralSlack: Float64Array
      debtSlack: Float64Array
      sourcePriced: boolean
      bitmap: bigint
    }
  >
  stableDebt: boolean
}

/** A threshold one basis point lower (the most the contract's truncated average loses), never negative. */
const ltBelow = (lt: bigint): number => (lt > 1n ? Number(lt) - 1 : 0)

export function floatView(view: MarketView): FloatView {
  const n = view.reserves.length
  const collateral = new Float64Array(n)
  const debt = new Float64Array(n)
  const counts = new Uint8Array(n)
  const collateralSlack = new Float64Array(n)
  const debtSlack = new Float64Array(n)
  const masks: bigint[] = []
  for (let id = 0; id < n; id++) {
    masks[id] = 3n << BigInt(2 * id)
    const reserve = view.reserves[id]
    if (!reserve) continue
    const perUnit = Number(view.price[id] ?? 0n) / Number(view.unit[id] ?? 1n) / 1e27
    counts[id] = reserve.liquidationThreshold !== 0n || !view.rules.collateralNeedsThreshold ? 1 : 0
    // The contract's average threshold is Σ value·LT / Σ value truncated to whole basis points:
    // up to 1 bp (1.2e-4 of an 82% threshold, more than SAFETY) below the weighted one. LT − 1
    // keeps the estimate a lower bound (found by the 1,000-run property: 0.9999999995 exact,
    // 1.0001186 estimated, two collaterals, 141 days of interest).
    collateral[id] =
      ((counts[id] as number) *
        perUnit *
        Number(incomeOf(view, id) ?? 0n) *
        ltBelow(reserve.liquidationThreshold)) /
      1e4
    debt[id] = perUnit * Number(debtIndexOf(view, id) ?? 0n)
    const tokenUnit = Number(view.price[id] ?? 0n) / Number(view.unit[id] ?? 1n)
    collateralSlack[id] =
      ((counts[id] as number) * (tokenUnit + 1) * Number(reserve.liquidationThreshold)) / 1e4
    debtSlack[id] = tokenUnit + 1
  }
  const eModes: FloatView['eModes'] = new Map()
  for (const [id, e] of view.eModes) {
    const c = new Float64Array(n)
    const d = new Float64Array(n)
    const cs = new Float64Array(n)
    const ds = new Float64Array(n)
    for (let r = 0; r < n; r++) {
      const reserve = view.reserves[r]
      if (!reserve) continue
      const inCategory = ((e.collateralBitmap >> BigInt(r)) & 1n) === 1n
      const lt = inCategory ? e.liquidationThreshold : reserve.liquidationThreshold
      // v3.0: a category's price source prices its members, collateral and debt alike.
      const price = inCategory && e.sourcePrice !== 0n ? e.sourcePrice : (view.price[r] ?? 0n)
      const perUnit = Number(price) / Number(view.unit[r] ?? 1n) / 1e27
      c[r] = ((counts[r] as number) * perUnit * Number(incomeOf(view, r) ?? 0n) * ltBelow(lt)) / 1e4
      d[r] = perUnit * Number(debtIndexOf(view, r) ?? 0n)
      const tokenUnit = Number(price) / Number(view.unit[r] ?? 1n)
      cs[r] = ((counts[r] as number) * (tokenUnit + 1) * Number(lt)) / 1e4
      ds[r] = tokenUnit + 1
    }
    eModes.set(id, {
      collateral: c,
      debt: d,
      collateralSlack: cs,
      debtSlack: ds,
      sourcePriced: e.sourcePrice !== 0n,
      bitmap: e.collateralBitmap,
    })
  }
  return {
    collateral,
    debt,
    collateralSlack,
    debtSlack,
    counts,
    masks,
    eModes,
    stableDebt: view.rules.stableDebt,
  }
}

/** The estimated health factor (Infinity without debt), or -Infinity where only the exact one will do. */
export function healthEstimate(fv: FloatView, position: AccountPosition): number {
  if (fv.stableDebt && position.stable && position.stable.size > 0) return Number.NEGATIVE_INFINITY
  let collateralRate = fv.collateral
  let debtRate = fv.debt
  let collateralSlack = fv.collateralSlack
  let debtSlack = fv.debtSlack
  if (position.eMode !== 0) {
    const e = fv.eModes.get(position.eMode)
    if (!e) return Number.NEGATIVE_INFINITY
    collateralRate = e.collateral
    debtRate = e.debt
    collateralSlack = e.collateralSlack
    debtSlack = e.debtSlack
  }
  const config = position.config
  let coll = 0
  let debt = 0
  let slackC = 0
  let slackD = 0
  const n = fv.masks.length
  // Up to 26 reserves the bitmap fits a float exactly: bit tests without bigint arithmetic.
  const small = n <= 26 ? Number(config) : undefined
  for (let id = 0; id < n; id++) {
    let borrowing: boolean
    let collateral: boolean
    if (small !== undefined) {
      const bits = Math.floor(small / 4 ** id) % 4
      if (bits === 0) continue
      borrowing = (bits & 1) === 1
      collateral = bits >= 2
    } else {
      const bits = config & (fv.masks[id] as bigint)
      if (bits === 0n) continue
      borrowing = ((bits >> BigInt(2 * id)) & 1n) === 1n
      collateral = bits >> BigInt(2 * id + 1) === 1n
    }
    if (collateral) {
      const scaled = position.scaledCollateral[id]
      if (scaled) {
        coll += Number(scaled) * (collateralRate[id] as number)
        slackC += collateralSlack[id] as number
      }
    }
    if (borrowing) {
      const scaled = position.scaledDebt[id]
      if (scaled) {
        debt += Number(scaled) * (debtRate[id] as number)
        slackD += debtSlack[id] as number
      }
    }
  }
  return lowerBound(coll, debt, slackC, slackD)
}

/** Health no lower than the contract's can be, with every value rounded against it. */
function lowerBound(coll: number, debt: number, slackC: number, slackD: number): number {
  if (debt === 0) return Number.POSITIVE_INFINITY
  return (coll - slackC) / (debt + slackD)
}

/**
 * Every account's scaled balances as floats, in one typed array (slot × reserve), kept current by
 * the strategy for the accounts each block touched: a price tick then estimates tens of thousands of
 * healths without a single bigint operation. Stable debt is flagged and always evaluated exactly.
 */
export class FloatBalances {
  private slots = new Map<string, number>()
  /** Slot → account key. */
  readonly keys: string[] = []
  /**
   * Slot → the account's position as last recorded (the mirror's own object: applying logs
   * mutates it in place, and every path that replaces one records it here), so a tick's walk by
   * slot needs no lookup by key in a map of a million.
   */
  readonly positions: (AccountPosition | undefined)[] = []
  /** Slot × reserve: scaled collateral that counts (the collateral bit set), and scaled debt. */
  collateral: Float64Array
  debt: Float64Array
  eMode: Int32Array
  /** Accounts only the exact math may judge (stable debt). */
  exactOnly: Uint8Array
  private capacity: number
  constructor(readonly reserves: number) {
    this.capacity = 1024
    this.collateral = new Float64Array(this.capacity * reserves)
    this.debt = new Float64Array(this.capacity * reserves)
    this.eMode = new Int32Array(this.capacity)
    this.exactOnly = new Uint8Array(this.capacity)
  }

  private grow() {
    this.capacity *= 2
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, size: number): T => {
      const next = new (a.constructor as new (n: number) => T)(size)
      next.set(a)
      return next
    }
    this.collateral = grow(this.collateral, this.capacity * this.reserves)
    this.debt = grow(this.debt, this.capacity * this.reserves)
    this.eMode = grow(this.eMode, this.capacity)
    this.exactOnly = grow(this.exactOnly, this.capacity)
  }

  /** Records (or refreshes) one account's balances: only what its configuration enables. */
  set(key: string, position: AccountPosition | undefined): void {
    let slot = this.slots.get(key)
    if (slot === undefined) {
      slot = this.keys.length
      if (slot >= this.capacity) this.grow()
      this.slots.set(key, slot)
      this.keys.push(key)
      this.positions.push(position)
    } else this.positions[slot] = position
    const reserves = this.reserves
    const base = slot * reserves
    const collateral = this.collateral
    const debt = this.debt
    for (let id = 0; id < reserves; id++) {
      collateral[base + id] = 0
      debt[base + id] = 0
    }
    this.eMode[slot] = position?.eMode ?? 0
    this.exactOnly[slot] = position?.stable && position.stable.size > 0 ? 1 : 0
    if (!position) return
    const scaledCollateral = position.scaledCollateral
    const scaledDebt = position.scaledDebt
    let config = position.config
    // Two bits per reserve (borrowing, collateral), walked up to the highest set bit; in number
    // arithmetic while the bitmap is an exact float (up to 26 reserves).
    if (config < 2n ** 52n) {
      let bits = Number(config)
      for (let id = 0; bits > 0 && id < reserves; id++) {
        const pair = bits % 4
        bits = (bits - pair) / 4
        if (pair >= 2) {
          const c = scaledCollateral[id]
          if (c) collateral[base + id] = Number(c)
        }
        if (pair % 2 === 1) {
          const d = scaledDebt[id]
          if (d) debt[base + id] = Number(d)
        }
      }
      return
    }
    for (let id = 0; config !== 0n && id < reserves; id++, config >>= 2n) {
      const pair = config & 3n
      if (pair >= 2n) {
        const c = scaledCollateral[id]
        if (c) collateral[base + id] = Number(c)
      }
      if ((pair & 1n) === 1n) {
        const d = scaledDebt[id]
        if (d) debt[base + id] = Number(d)
      }
    }
  }

  /** Whether the account at `slot` holds one of `reach.ids` or is in one of `reach.categories`. */
  reaches(slot: number, reach: Reach): boolean {
    if (reach.categories.length > 0 && reach.categories.includes(this.eMode[slot] as number)) return true
    const base = slot * this.reserves
    for (const id of reach.ids)
      if (this.collateral[base + id] !== 0 || this.debt[base + id] !== 0) return true
    return false
  }

  /** Every slot `reach` reaches, in slot order. */
  slotsReached(reach: Reach): number[] {
    const out: number[] = []
    if (reach.ids.length === 0 && reach.categories.length === 0) return out
    for (let slot = 0; slot < this.keys.length; slot++) if (this.reaches(slot, reach)) out.push(slot)
    return out
  }

  /** The slot of a recorded account (slots are never reused: a closed account keeps zero balances). */
  slotOf(key: string): number | undefined {
    return this.slots.get(key)
  }

  get size(): number {
    return this.keys.length
  }

  /** The estimated health factor of a recorded account (undefined: not recorded). */
  estimate(fv: FloatView, key: string): number | undefined {
    const slot = this.slots.get(key)
    return slot === undefined ? undefined : this.estimateAt(fv, slot)
  }

  /** `estimate` by slot (a walk of the trigger index has it: no lookup by key). */
  estimateAt(fv: FloatView, slot: number): number {
    if (this.exactOnly[slot] === 1) return Number.NEGATIVE_INFINITY
    let collateralRate = fv.collateral
    let debtRate = fv.debt
    let collateralSlack = fv.collateralSlack
    let debtSlack = fv.debtSlack
    const eMode = this.eMode[slot] as number
    if (eMode !== 0) {
      const e = fv.eModes.get(eMode)
      if (!e) return Number.NEGATIVE_INFINITY
      collateralRate = e.collateral
      debtRate = e.debt
      collateralSlack = e.collateralSlack
      debtSlack = e.debtSlack
    }
    const base = slot * this.reserves
    let coll = 0
    let debt = 0
    let slackC = 0
    let slackD = 0
    for (let id = 0; id < this.reserves; id++) {
      const c = this.collateral[base + id] as number
      const d = this.debt[base + id] as number
      if (c !== 0) {
        coll += c * (collateralRate[id] as number)
        slackC += collateralSlack[id] as number
      }
      if (d !== 0) {
        debt += d * (debtRate[id] as number)
        slackD += debtSlack[id] as number
      }
    }
    return lowerBound(coll, debt, slackC, slackD)
  }
}
