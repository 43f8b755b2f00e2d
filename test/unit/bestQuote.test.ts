/**
 * The planner's best pair (bestLiquidationQuote, which skips pairs whose bound cannot beat the best
 * exact bonus) against sizing every pair (liquidationQuotes, best first): the same quote, under both
 * rule sets, eMode, any price moves and any time (fast-check; a failure prints its seed).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  bestLiquidationQuote,
  createMarketView,
  liquidationQuotes,
  userAccountData,
} from '../../strategies/aave-v3/math.js'
import { shock, shockedMarket } from '../support/shockedMarket.js'

describe('best liquidation pair', () => {
  it('is the first of every pair sized, ranked (v3.0 and v3.6 rules, any prices, any time)', () => {
    let multiPair = 0
    fc.assert(
      fc.property(shock(40, 160), (drawn) => {
        const market = shockedMarket(200, drawn)
        const seconds = drawn[3]
        const view = createMarketView(market, market.block.timestamp + BigInt(seconds))
        for (const position of market.accounts.values()) {
          const data = userAccountData(view, position)
          const all = liquidationQuotes(view, position, data)
          if (all.length > 1) multiPair++
          expect(bestLiquidationQuote(view, position, data)).toEqual(all[0])
        }
      }),
      { numRuns: 300 },
    )
    // Most underwater accounts in these markets have several pairs to choose from.
    expect(multiPair).toBeGreaterThan(5_000)
  })
})
