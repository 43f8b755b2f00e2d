/**
 * Which accounts a price move or a reserve's new configuration can affect: those holding the reserve
 * (a collateral or a debt balance) and, v3.0, the members of an eMode category that the moved asset
 * prices. Read from the float balances, which the strategy keeps in step with every position: one
 * scan of typed arrays, and no per-account index to build at start (it was a quarter of a restart
 * from 100k accounts) or to keep up on every change.
 *
 * A configuration bit without a balance is not exposure: a zero balance is worth zero at any price
 * and weighs nothing in the average threshold, so its reserve's price or parameters cannot move the
 * account's health or its liquidation.
 */
import type { FloatBalances } from './prefilter.js'
import type { MarketState } from './state.js'

/** What a move reaches: reserve ids held, and (v3.0) eMode categories priced by a moved asset. */
export interface Reach {
  ids: readonly number[]
  categories: readonly number[]
}

/** The reserves and categories the prices of `movedAssets` (lowercase) reach. */
export function reachOf(market: MarketState, movedAssets: Iterable<string>): Reach {
  const ids: number[] = []
  const categories: number[] = []
  for (const asset of movedAssets) {
    const reserve = market.reserves.get(asset)
    if (reserve) ids.push(reserve.id)
    for (const category of market.eModes.values())
      if (category.priceSource === asset) categories.push(category.id)
  }
  return { ids, categories }
}

/** Slots of the accounts the prices of `movedAssets` reach. */
export function exposedSlots(
  market: MarketState,
  floats: FloatBalances,
  movedAssets: Iterable<string>,
): number[] {
  return floats.slotsReached(reachOf(market, movedAssets))
}

/** Accounts whose health can change when the prices of `movedAssets` (lowercase) change. */
export function exposedAccounts(
  market: MarketState,
  floats: FloatBalances,
  movedAssets: Iterable<string>,
): string[] {
  return exposedSlots(market, floats, movedAssets).map((slot) => floats.keys[slot] as string)
}

/** Accounts holding any of the reserves `ids` (their parameters changed). */
export function holdersOf(floats: FloatBalances, ids: readonly number[]): string[] {
  return floats.slotsReached({ ids, categories: [] }).map((slot) => floats.keys[slot] as string)
}
