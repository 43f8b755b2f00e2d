/**
 * The planner's best pair (bestLiquidationQuote, which skips pairs whose bound cannot beat the best
 * exact bonus) against sizing every pair (liquidationQuotes, best first): the same quote, under both
 * rule sets, eMode, any price moves and any time (fast-check; a failure prints its seed).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { syntheticMarket } from '../../bench/syntheticMarket.js'
import {
  bestLiquidationQuote,
  createMarketView,
  liquidationQuotes,
  userAccountData,
} from '../../strategies/aave-v3/math.js'

describe('best liquidation pair', () => {
  it('is the first of every pair sized, ranked (v3.0 and v3.6 rules, any prices, any time)', () => {
    let multiPair = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 40, max: 160 }), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 0, max: 365 * 86_400 }),
        (seed, v36, moves, seconds) => {
          const market = syntheticMarket(200, seed)
          if (v36) market.poolRevision = 10n
          ;[...market.reserves.values()].forEach((r, i) => {
            const asset = r.asset.toLowerCase()
            market.prices.set(asset, ((market.prices.get(asset) ?? 0n) * BigInt(moves[i] ?? 100)) / 100n)
          })
          const view = createMarketView(market, market.block.timestamp + BigInt(seconds))
          for (const position of market.accounts.values()) {
            const data = userAccountData(view, position)
            const all = liquidationQuotes(view, position, data)
            if (all.length > 1) multiPair++
            expect(bestLiquidationQuote(view, position, data)).toEqual(all[0])
          }
        },
      ),
      { numRuns: 300 },
    )
    // Most underwater accounts in these markets have several pairs to choose from.
    expect(multiPair).toBeGreaterThan(5_000)
  })
})
