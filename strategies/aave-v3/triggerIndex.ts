/**
 * Trigger index: which accounts a price tick can push to the threshold, found without walking every
 * account exposed to the moved asset.
 *
 * For an account, split its float health into one leg per reserve at the index's reference prices:
 * u_r = collateral_r·LT_r − T·debt_r, U = Σ u_r (T is the prefilter's margin widened by the most
 * interest can accrue before the entry is refreshed, below). The account can reach the prefilter's
 * margin after prices move by ratios ρ_r only if Σ u_r·ρ_r ≤ 0, i.e. Σ −u_r·(ρ_r − 1) ≥ U. With
 * F = Σ |ρ_r − 1| over the moved reserves, one of the terms must then be at least U·|ρ_r − 1|/F
 * (if every term fell short, so would their sum), which for a harmful move of reserve r means
 * U/|u_r| ≤ F. So each reserve keeps its accounts sorted by m = U/|u_r|, in two lists — those a fall
 * of its price hurts (u_r > 0) and those a rise hurts (u_r < 0) — and a tick walks, per moved reserve
 * and harmful direction, only the entries with m ≤ F. Everything it returns is then judged by the
 * same float prefilter and exact bigint math as before: the index only narrows, it never decides.
 *
 * Interest: collateral income only grows; debt grows by at most G = e^(rate cap × age) since the
 * entry was computed, so T = SAFETY·G_MAX covers every entry younger than ln(G_MAX)/rate cap. A
 * sweep refreshes every entry well within that age; past it (or with a rate above the cap) the index
 * answers "unknown" and the caller walks the exposed accounts as before.
 *
 * v3.0 eMode categories with a price source price their members by it: those legs are booked on
 * the source's reserve. Accounts the legs cannot describe — within a hair of the margin already,
 * stable debt, a source that is not a reserve, a category the view does not know — sit in a watch
 * set that every tick includes.
 */
import { exposedSlots } from './exposure.js'
import { createMarketView } from './math.js'
import { type FloatBalances, type FloatView, floatView, SAFETY } from './prefilter.js'
import { pricesAt } from './priceSources.js'
import type { MarketState } from './state.js'

/** The most debt may grow (relative) between an entry's refresh and a tick that relies on it. */
const G_MAX = 1.0005
const T = SAFETY * G_MAX * (1 + 1e-9)
/** An account whose margin U is below this share of its weighted collateral is always a candidate. */
const WATCH_SHARE = 1e-6
/**
 * So is one whose rounding slack (prefilter.ts) exceeds this share of its margin; for the rest the
 * slack, which scales with prices by at most 1 + F, is covered by widening the walk.
 */
const SLACK_SHARE = 1e-4
/** Buckets: m from 2^-40 to 2^10 in quarter octaves; anything larger sits in the last one. */
const OCTAVE_MIN = -40
const STEPS_PER_OCTAVE = 4
const BUCKETS = (10 - OCTAVE_MIN) * STEPS_PER_OCTAVE + 1
/** The sweep refreshes slots in batches of at least this many (one float view per batch). */
const SWEEP_BATCH = 256

const bucketOf = (m: number): number => {
  if (!(m > 0)) return 0
  const b = Math.floor((Math.log2(m) - OCTAVE_MIN) * STEPS_PER_OCTAVE)
  return b < 0 ? 0 : b >= BUCKETS ? BUCKETS - 1 : b
}

/** A growable list of slots with O(1) removal (swap with the last). */
class SlotList {
  items = new Int32Array(16)
  length = 0
  push(slot: number): number {
    if (this.length === this.items.length) {
      const next = new Int32Array(this.items.length * 2)
      next.set(this.items)
      this.items = next
    }
    this.items[this.length] = slot
    return this.length++
  }
  /** Removes the item at `at`; returns the slot moved into its place (or -1). */
  removeAt(at: number): number {
    const last = --this.length
    if (at === last) return -1
    const moved = this.items[last] as number
    this.items[at] = moved
    return moved
  }
}

/** One reserve's entries: per direction, buckets of slots, and each slot's key and place. */
class ReserveLists {
  /** 0: hurt by a fall (u > 0); 1: hurt by a rise (u < 0). */
  readonly buckets: SlotList[][] = [[], []]
  key: Float64Array
  /** Direction + 1 (0: no entry), bucket, position within the bucket. */
  dir: Uint8Array
  bucket: Int16Array
  pos: Int32Array
  constructor(capacity: number) {
    for (const side of this.buckets) for (let b = 0; b < BUCKETS; b++) side.push(new SlotList())
    this.key = new Float64Array(capacity)
    this.dir = new Uint8Array(capacity)
    this.bucket = new Int16Array(capacity)
    this.pos = new Int32Array(capacity)
  }
  grow(capacity: number) {
    const grow = <A extends Float64Array | Uint8Array | Int16Array | Int32Array>(a: A): A => {
      const next = new (a.constructor as new (n: number) => A)(capacity)
      next.set(a)
      return next
    }
    this.key = grow(this.key)
    this.dir = grow(this.dir)
    this.bucket = grow(this.bucket)
    this.pos = grow(this.pos)
  }
  remove(slot: number) {
    const dir = this.dir[slot] as number
    if (dir === 0) return
    const list = (this.buckets[dir - 1] as SlotList[])[this.bucket[slot] as number] as SlotList
    const moved = list.removeAt(this.pos[slot] as number)
    if (moved >= 0) this.pos[moved] = this.pos[slot] as number
    this.dir[slot] = 0
  }
  insert(slot: number, side: 0 | 1, m: number) {
    const b = bucketOf(m)
    this.key[slot] = m
    this.dir[slot] = side + 1
    this.bucket[slot] = b
    this.pos[slot] = ((this.buckets[side] as SlotList[])[b] as SlotList).push(slot)
  }
}

export interface TriggerIndexStats {
  entries: number
  watched: number
}

export class TriggerIndex {
  private readonly lists: ReserveLists[] = []
  private capacity = 0
  private readonly watched = new Set<number>()
  /** Per slot: the chain time its entries were computed at (seconds). */
  private refreshedAt = new Float64Array(0)
  private stamp = new Uint32Array(0)
  private generation = 0
  /**
   * Slots below this have entries; the rest are still to be computed by `buildSome` (an index is
   * built a slice at a time between events, and answers "unknown" until it is complete).
   */
  private built = 0
  /** Sweep: the next slot to refresh, and when the current and the previous pass began. */
  private cursor = 0
  private passStartedAt: number
  private previousPassStartedAt: number
  /** Seconds an entry may age before a tick stops trusting it. */
  readonly maxAge: number
  private readonly legs: Float64Array
  /** eMode category → the reserve id of its price source (v3.0), where the source is a reserve. */
  sourceReserves = new Map<number, number>()

  /**
   * `referencePrices`: per reserve id, the price every entry is computed at; `rateCap`: a bound on
   * every reserve's borrow rate per second.
   */
  constructor(
    private readonly floats: FloatBalances,
    readonly referencePrices: bigint[],
    readonly rateCap: number,
    builtAt: number,
  ) {
    for (let r = 0; r < floats.reserves; r++) this.lists.push(new ReserveLists(0))
    this.legs = new Float64Array(floats.reserves)
    this.maxAge = Math.log(G_MAX) / rateCap
    this.passStartedAt = builtAt
    this.previousPassStartedAt = builtAt
  }

  private ensure(slots: number) {
    if (slots <= this.capacity) return
    let capacity = Math.max(1024, this.capacity)
    while (capacity < slots) capacity *= 2
    for (const lists of this.lists) lists.grow(capacity)
    const refreshed = new Float64Array(capacity)
    refreshed.set(this.refreshedAt)
    this.refreshedAt = refreshed
    const stamp = new Uint32Array(capacity)
    stamp.set(this.stamp)
    this.stamp = stamp
    this.capacity = capacity
  }

  /** Recomputes one account's entries from its float balances, with `fv` at the reference prices. */
  refresh(fv: FloatView, slot: number, now: number): void {
    this.ensure(slot + 1)
    const floats = this.floats
    const reserves = floats.reserves
    for (let r = 0; r < reserves; r++) this.lists[r]?.remove(slot)
    this.watched.delete(slot)
    this.refreshedAt[slot] = now
    if (floats.exactOnly[slot] === 1) {
      this.watched.add(slot)
      return
    }
    let rateC = fv.collateral
    let rateD = fv.debt
    let slackRateC = fv.collateralSlack
    let slackRateD = fv.debtSlack
    /** v3.0: the members of a category with a price source are priced by that source's reserve. */
    let bitmap = 0n
    let source = -1
    const eMode = floats.eMode[slot] as number
    if (eMode !== 0) {
      const e = fv.eModes.get(eMode)
      if (!e) {
        this.watched.add(slot)
        return
      }
      if (e.sourcePriced) {
        source = this.sourceReserves.get(eMode) ?? -1
        if (source < 0) {
          this.watched.add(slot)
          return
        }
        bitmap = e.bitmap
      }
      rateC = e.collateral
      rateD = e.debt
      slackRateC = e.collateralSlack
      slackRateD = e.debtSlack
    }
    const base = slot * reserves
    const legs = this.legs
    let coll = 0
    let debt = 0
    let slack = 0
    legs.fill(0)
    for (let r = 0; r < reserves; r++) {
      const c = (floats.collateral[base + r] as number) * (rateC[r] as number)
      const d = (floats.debt[base + r] as number) * (rateD[r] as number)
      if (c !== 0) slack += slackRateC[r] as number
      if (d !== 0) slack += T * (slackRateD[r] as number)
      if (c === 0 && d === 0) continue
      coll += c
      debt += d
      const priced = source >= 0 && ((bitmap >> BigInt(r)) & 1n) === 1n ? source : r
      legs[priced] = (legs[priced] as number) + c - T * d
    }
    // Without debt no price can make it liquidatable; a borrow marks it for a refresh.
    if (debt === 0) return
    const margin = coll - T * debt
    // Dust: the contract's rounding is a real share of the margin; only the exact math will do.
    if (!(margin > WATCH_SHARE * coll) || slack > SLACK_SHARE * margin) {
      this.watched.add(slot)
      return
    }
    for (let r = 0; r < reserves; r++) {
      const u = legs[r] as number
      if (u > 0) this.lists[r]?.insert(slot, 0, margin / u)
      else if (u < 0) this.lists[r]?.insert(slot, 1, margin / -u)
    }
  }

  /** Whether every slot has entries (a tick may rely on the index only then). */
  get complete(): boolean {
    return this.built >= this.floats.size
  }

  /**
   * Computes the entries of up to `count` more slots; returns whether any remain. The build is the
   * index's first pass: every entry it makes is at least as recent as the index's creation, which is
   * what `trusted` measures age from. Slots a block refreshes meanwhile are simply refreshed again.
   */
  buildSome(fv: FloatView, count: number, now: number): boolean {
    const end = Math.min(this.floats.size, this.built + count)
    for (let slot = this.built; slot < end; slot++) this.refresh(fv, slot, now)
    this.built = end
    return !this.complete
  }

  /**
   * Refreshes the next `count` slots of the sweep (every entry is refreshed at least once per pass,
   * so none is older than the start of the previous pass). Nothing while the build is under way:
   * the build is the first pass.
   */
  sweep(fv: FloatView, count: number, now: number): void {
    if (!this.complete) return
    const size = this.floats.size
    if (count >= size) {
      // Everything is due (a long gap in chain time): one whole pass, trusted from now.
      for (let slot = 0; slot < size; slot++) this.refresh(fv, slot, now)
      this.cursor = 0
      this.passStartedAt = now
      this.previousPassStartedAt = now
      return
    }
    for (let i = 0; i < count && size > 0; i++) {
      if (this.cursor >= size) {
        this.cursor = 0
        this.previousPassStartedAt = this.passStartedAt
        this.passStartedAt = now
      }
      this.refresh(fv, this.cursor++, now)
    }
  }

  /** Slots owed to the sweep, accrued by chain time so every entry is refreshed within a third of its allowed age. */
  private owed = 0

  /** Accrues the sweep for `seconds` of chain time; returns how many slots to refresh now (batched). */
  sweepDue(seconds: number): number {
    this.owed += (this.floats.size * Math.max(0, seconds)) / (this.maxAge / 3)
    if (this.owed < SWEEP_BATCH && this.owed < this.floats.size) return 0
    const due = Math.ceil(this.owed)
    this.owed = 0
    return due
  }

  /** Whether a tick at chain time `at` may rely on every entry. */
  trusted(at: number): boolean {
    return at - this.previousPassStartedAt <= this.maxAge
  }

  /**
   * The slots a move to `prices` (per reserve id; the reference where unchanged) can push to the
   * prefilter's margin: a superset of every such account. Undefined when the index cannot say.
   */
  candidates(prices: readonly bigint[], at: number): number[] | undefined {
    if (!this.complete || !this.trusted(at)) return undefined
    const moved: [number, number][] = []
    let spread = 0
    for (let r = 0; r < this.lists.length; r++) {
      const before = this.referencePrices[r] ?? 0n
      const after = prices[r] ?? before
      if (after === before) continue
      if (before === 0n) return undefined
      const ratio = Number(after) / Number(before)
      moved.push([r, ratio])
      spread += Math.abs(ratio - 1)
    }
    // The prefilter judges health less the rounding slack, up to SLACK_SHARE·(1 + F) of the margin.
    const kept = 1 - SLACK_SHARE * (1 + spread)
    if (kept <= 0) return undefined
    const limit = (spread * (1 + 1e-6)) / kept + 1e-12
    const last = bucketOf(limit)
    const stamp = ++this.generation
    if (stamp === 0xffffffff) {
      this.stamp.fill(0)
      this.generation = 1
    }
    const out: number[] = []
    const take = (slot: number) => {
      if (this.stamp[slot] === this.generation) return
      this.stamp[slot] = this.generation
      out.push(slot)
    }
    for (const [r, ratio] of moved) {
      const lists = this.lists[r] as ReserveLists
      const side = ratio < 1 ? 0 : 1
      const buckets = lists.buckets[side] as SlotList[]
      for (let b = 0; b <= last; b++) {
        const list = buckets[b] as SlotList
        const items = list.items
        if (b < last) for (let i = 0; i < list.length; i++) take(items[i] as number)
        else
          for (let i = 0; i < list.length; i++) {
            const slot = items[i] as number
            if ((lists.key[slot] as number) <= limit) take(slot)
          }
      }
    }
    for (const slot of this.watched) take(slot)
    return out
  }

  stats(): TriggerIndexStats {
    let entries = 0
    for (const lists of this.lists)
      for (const side of lists.buckets) for (const list of side) entries += list.length
    return { entries, watched: this.watched.size }
  }
}

const RAY_FLOAT = 1e27
const SECONDS_PER_YEAR = 365 * 24 * 3600
/** A reference price is moved to the current one once they differ by more than this (adapters drift every second). */
const REBASE_DRIFT = 1e-4

/** Per reserve id: the price `prices` gives it (0 where none). */
export function pricesById(market: MarketState, prices: ReadonlyMap<string, bigint>): bigint[] {
  const out: bigint[] = []
  for (const [asset, reserve] of market.reserves) out[reserve.id] = prices.get(asset) ?? 0n
  for (let id = 0; id < out.length; id++) out[id] ??= 0n
  return out
}

/** A bound on every borrow rate in the market, per second (at least 100% a year, twice the highest). */
export function borrowRateCap(market: MarketState): number {
  let max = 0n
  for (const r of market.reserves.values()) {
    if (r.variableBorrowRate > max) max = r.variableBorrowRate
    if (r.stableBorrowRate > max) max = r.stableBorrowRate
  }
  return Math.max(1 / SECONDS_PER_YEAR, (2 * Number(max)) / RAY_FLOAT / SECONDS_PER_YEAR)
}

function sourceReserves(market: MarketState): Map<number, number> {
  const out = new Map<number, number>()
  for (const category of market.eModes.values()) {
    const reserve = market.reserves.get(category.priceSource)
    if (reserve) out.set(category.id, reserve.id)
  }
  return out
}

/** The float view at the index's reference prices and the chain time `timestamp`. */
function referenceView(market: MarketState, reference: readonly bigint[], timestamp: bigint): FloatView {
  const prices = new Map(market.prices)
  for (const [asset, reserve] of market.reserves) prices.set(asset, reference[reserve.id] ?? 0n)
  return floatView(createMarketView({ ...market, prices }, timestamp))
}

/**
 * An index over every account at the mirror's current prices and time, with no entry computed yet:
 * `buildSlice` (between events) or `completeTriggerIndex` fills it.
 */
export function startTriggerIndex(market: MarketState, floats: FloatBalances): TriggerIndex {
  const now = market.block.timestamp
  const reference = pricesById(market, pricesAt(market, now))
  const index = new TriggerIndex(floats, reference, borrowRateCap(market), Number(now))
  index.sourceReserves = sourceReserves(market)
  return index
}

/** Slots computed per slice of a build: a few milliseconds of work between two events. */
const BUILD_SLICE = 8_192

/** Computes the next slice of an index under construction; returns whether more remain. */
export function buildSlice(index: TriggerIndex, market: MarketState, slots = BUILD_SLICE): boolean {
  if (index.complete) return false
  const now = market.block.timestamp
  index.sourceReserves = sourceReserves(market)
  return index.buildSome(referenceView(market, index.referencePrices, now), slots, Number(now))
}

/** Finishes an index's build at once (tests, benchmarks, a replay that never yields). */
export function completeTriggerIndex(index: TriggerIndex, market: MarketState): TriggerIndex {
  buildSlice(index, market, Number.POSITIVE_INFINITY)
  return index
}

/** Builds the index over every account at the mirror's current prices and time, in one go. */
export function buildTriggerIndex(market: MarketState, floats: FloatBalances): TriggerIndex {
  return completeTriggerIndex(startTriggerIndex(market, floats), market)
}

/**
 * After a block: reference prices follow the prices the block moved (and adapters that drifted),
 * the accounts exposed to them and the accounts the block touched are recomputed, and the sweep
 * advances. Returns a new index, not yet built, when the old one cannot be kept (a rate above its cap).
 */
export function updateTriggerIndex(
  index: TriggerIndex,
  market: MarketState,
  floats: FloatBalances,
  change: { touched: Iterable<string>; movedPrices: ReadonlySet<string>; configured: Iterable<number> },
  blockSeconds: number,
): TriggerIndex {
  // A rate above the cap invalidates every entry's interest margin: a new index, built in slices.
  if (borrowRateCap(market) > index.rateCap) return startTriggerIndex(market, floats)
  const now = market.block.timestamp
  const refresh = new Set<number>()
  for (const key of change.touched) {
    const slot = floats.slotOf(key)
    if (slot !== undefined) refresh.add(slot)
  }
  const rebased = new Set<number>(change.configured)
  // Prices only move with a price event or an adapter (re-read or drifting with time).
  if (change.movedPrices.size > 0 || market.adapters.size > 0) {
    const current = pricesById(market, pricesAt(market, now))
    for (const [asset, reserve] of market.reserves) {
      const id = reserve.id
      const before = index.referencePrices[id] ?? 0n
      const after = current[id] ?? 0n
      if (before === after) continue
      const drift = before === 0n ? Number.POSITIVE_INFINITY : Math.abs(Number(after) / Number(before) - 1)
      if (change.movedPrices.has(asset) || drift > REBASE_DRIFT) {
        index.referencePrices[id] = after
        rebased.add(id)
      }
    }
  }
  // Everyone a rebased price reaches: holders of the reserve, and (v3.0) the members of a category
  // it prices as the category's source, whatever they hold.
  const rebasedAssets: string[] = []
  for (const [asset, reserve] of market.reserves) if (rebased.has(reserve.id)) rebasedAssets.push(asset)
  for (const slot of exposedSlots(market, floats, rebasedAssets)) refresh.add(slot)
  const sweep = index.sweepDue(blockSeconds)
  if (refresh.size === 0 && sweep === 0) return index
  // v3.0: a category priced by a source moves with it (its members are booked on the source).
  index.sourceReserves = sourceReserves(market)
  const fv = referenceView(market, index.referencePrices, now)
  const at = Number(now)
  for (const slot of refresh) index.refresh(fv, slot, at)
  index.sweep(fv, sweep, at)
  return index
}
