/**
 * The pool price the devnet initializes Uniswap v3 pools at: floor(sqrt(p1/p0 ratio) × 2^96) for
 * token prices in one currency. A float-guided root once looped for ~10^13 steps on 2^96-sized
 * roots (the suite hung); the property pins the exact floor root for roots of every size.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sqrtPriceX96 } from '../../../src/devnet/uniswapV3.js'

describe('sqrtPriceX96', () => {
  it('is the floor square root of price0·10^d1·2^192 / (price1·10^d0)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 24 }),
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 24 }),
        (p0, d0, p1, d1) => {
          const target = (p0 * 10n ** BigInt(d1) * 2n ** 192n) / (p1 * 10n ** BigInt(d0))
          const root = sqrtPriceX96(p0, d0, p1, d1)
          expect(root * root <= target).toBe(true)
          expect((root + 1n) * (root + 1n) > target).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('is exactly 2^96 for equal prices and decimals (a price of 1)', () => {
    expect(sqrtPriceX96(2000n, 18, 2000n, 18)).toBe(2n ** 96n)
  })
})
