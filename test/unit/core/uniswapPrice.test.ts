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

  it('gives 2^96 for equal prices and decimals, and 2^96·10^-6 scaled for 18 vs 6 decimals', () => {
    expect(sqrtPriceX96(2000n, 18, 2000n, 18)).toBe(2n ** 96n)
    // WETH (18) at $2000 against USDC (6) at $1: 2000·10^6 / 10^18 USDC units per wei = 2·10^-9.
    const root = sqrtPriceX96(2000n, 18, 1n, 6)
    const target = (2000n * 10n ** 6n * 2n ** 192n) / 10n ** 18n
    expect(root * root <= target && (root + 1n) ** 2n > target).toBe(true)
  })
})
