/**
 * Which accounts a price move can affect: those using the moved reserve as collateral or debt, and
 * those in an eMode category whose price source moved. Maintained incrementally from touched accounts.
 */
import type { AccountPosition, MarketState } from './state.js'

export interface ExposureIndex {
  /** Reserve id → lowercase accounts with the collateral or borrowing bit set for it. */
  byReserve: Map<number, Set<string>>
  /** eMode category → its members. */
  byEMode: Map<number, Set<string>>
  /** Where each account is indexed now, so updates remove stale entries. */
  memberships: Map<string, { reserves: number[]; eMode: number }>
}

export function createExposureIndex(): ExposureIndex {
  return { byReserve: new Map(), byEMode: new Map(), memberships: new Map() }
}

export function indexAccount(index: ExposureIndex, key: string, position: AccountPosition | undefined): void {
  const previous = index.memberships.get(key)
  if (previous) {
    for (const id of previous.reserves) index.byReserve.get(id)?.delete(key)
    if (previous.eMode !== 0) index.byEMode.get(previous.eMode)?.delete(key)
  }
  if (!position || position.config === 0n) {
    index.memberships.delete(key)
    return
  }
  const reserves = reservesIn(position.config)
  for (const id of reserves) {
    let set = index.byReserve.get(id)
    if (!set) {
      set = new Set<string>()
      index.byReserve.set(id, set)
    }
    set.add(key)
  }
  if (position.eMode !== 0) {
    const set = index.byEMode.get(position.eMode) ?? new Set<string>()
    index.byEMode.set(position.eMode, set)
    set.add(key)
  }
  index.memberships.set(key, { reserves, eMode: position.eMode })
}

/** Reserve ids with the collateral or borrowing bit set (number arithmetic while the bitmap fits). */
export function reservesIn(config: bigint): number[] {
  const out: number[] = []
  if (config < 2n ** 52n) {
    let bits = Number(config)
    for (let id = 0; bits > 0; id++, bits = Math.floor(bits / 4)) if (bits % 4 !== 0) out.push(id)
    return out
  }
  for (let id = 0; config !== 0n; id++, config >>= 2n) if ((config & 3n) !== 0n) out.push(id)
  return out
}

export function buildExposureIndex(market: MarketState): ExposureIndex {
  const index = createExposureIndex()
  for (const [key, position] of market.accounts) indexAccount(index, key, position)
  return index
}

/** Accounts whose health can change when the prices of `movedAssets` (lowercase) change. */
export function exposedAccounts(
  market: MarketState,
  index: ExposureIndex,
  movedAssets: Iterable<string>,
): Set<string> {
  const out = new Set<string>()
  for (const asset of movedAssets) {
    const reserve = market.reserves.get(asset)
    if (reserve) for (const key of index.byReserve.get(reserve.id) ?? []) out.add(key)
    for (const category of market.eModes.values()) {
      if (category.priceSource !== asset) continue
      for (const key of index.byEMode.get(category.id) ?? []) out.add(key)
    }
  }
  return out
}
