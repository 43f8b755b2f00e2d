/**
 * A synthetic Aave market after an arbitrary price shock, under either rule set: what the
 * properties that compare a fast path with the exact one draw (fast-check picks the arguments).
 */
import fc from 'fast-check'
import { syntheticMarket } from '../../bench/syntheticMarket.js'
import type { MarketState } from '../../strategies/aave-v3/state.js'

/** Seed, v3.6 rules or v3.0, a price factor in percent per reserve (six), seconds ahead. */
export const shock = (minFactor: number, maxFactor: number) =>
  fc.tuple(
    fc.integer({ min: 1, max: 10_000 }),
    fc.boolean(),
    fc.array(fc.integer({ min: minFactor, max: maxFactor }), { minLength: 6, maxLength: 6 }),
    fc.integer({ min: 0, max: 365 * 86_400 }),
  )

export function shockedMarket(
  accounts: number,
  [seed, v36, moves]: readonly [number, boolean, readonly number[], number],
  options: { healthy?: boolean } = {},
): MarketState {
  const market = syntheticMarket(accounts, seed, options)
  if (v36) market.poolRevision = 10n
  ;[...market.reserves.values()].forEach((r, i) => {
    const asset = r.asset.toLowerCase()
    market.prices.set(asset, ((market.prices.get(asset) ?? 0n) * BigInt(moves[i] ?? 100)) / 100n)
  })
  return market
}
