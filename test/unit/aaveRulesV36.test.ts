/**
 * The v3.3-v3.6 rules without a chain: directed rounding, v3.4 compounding, reading scaled balances
 * back from v3.5 Mint/Burn values, eMode bitmaps, the 2000-base close factor, the dust rule and the
 * sizing that avoids it, grace periods. The chain-level proof is the v3.6 mirror scenario.
 */
import { Decimal } from 'decimal.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRandom } from '../../src/devnet/random.js'
import {
  MAX_UINT256,
  MathOverflowError,
  mulDivCeil,
  percentDivCeil,
  percentMulFloor,
  RAY,
  rayDivCeil,
  rayDivFloor,
  rayMulCeil,
  rayMulFloor,
  SECONDS_PER_YEAR,
  WAD,
} from '../../strategies/aave-v3/fixedPoint.js'
import {
  createMarketView,
  largestFitting,
  liquidationQuotes,
  quoteLiquidation,
  sizeLiquidation,
  userAccountData,
} from '../../strategies/aave-v3/math.js'
import {
  compoundedInterestV3_0,
  compoundedInterestV3_4,
  leavesDustV3_3,
  MIN_LEFTOVER_BASE_V3_3,
  maxLiquidatableDebtV3_3,
  rulesForRevision,
  scaledAfterEventV3_5,
} from '../../strategies/aave-v3/rules.js'
import { borrowBit, collateralBit, market, pos, reserve } from '../support/marketFixtures.js'

const E8 = 10n ** 8n

describe('directed rounding (v3.5 WadRayMath, PercentageMath, MathUtils)', () => {
  it('floors and ceils only when there is a remainder', () => {
    expect(rayMulFloor(3n, RAY + RAY / 2n)).toBe(4n)
    expect(rayMulCeil(3n, RAY + RAY / 2n)).toBe(5n)
    expect(rayMulCeil(2n, RAY + RAY / 2n)).toBe(3n)
    expect(rayDivFloor(5n, 2n * RAY)).toBe(2n)
    expect(rayDivCeil(5n, 2n * RAY)).toBe(3n)
    expect(rayDivCeil(4n, 2n * RAY)).toBe(2n)
    expect(mulDivCeil(7n, 3n, 7n)).toBe(3n)
    expect(mulDivCeil(7n, 3n, 4n)).toBe(6n)
    expect(percentMulFloor(9_999n, 5_000n)).toBe(4_999n)
    expect(percentDivCeil(1n, 10_500n)).toBe(1n)
    expect(percentDivCeil(10_500n, 10_500n)).toBe(10_000n)
  })

  it('reverts like the contracts on overflow and division by zero', () => {
    expect(() => rayMulCeil(MAX_UINT256, 2n)).toThrow(MathOverflowError)
    expect(() => rayDivCeil(1n, 0n)).toThrow(MathOverflowError)
    expect(() => mulDivCeil(1n, 1n, 0n)).toThrow(MathOverflowError)
  })
})

describe('compounded interest (v3.4)', () => {
  it('is x + x²/2 + x³/6 of x = rate·dt/year, and differs from the v3.0 binomial', () => {
    const rate = (RAY * 35n) / 100n
    for (const dt of [1n, 13n, 3600n, 86_400n * 30n, SECONDS_PER_YEAR]) {
      const got = compoundedInterestV3_4(rate, 0n, dt)
      const x = new Decimal(((rate * dt) / SECONDS_PER_YEAR).toString()).div(RAY.toString())
      const series = x.plus(x.pow(2).div(2)).plus(x.pow(3).div(6)).plus(1)
      const relative = new Decimal(got.toString()).div(RAY.toString()).minus(series).abs()
      expect(relative.lt(1e-25)).toBe(true)
    }
    expect(compoundedInterestV3_4(rate, 5n, 5n)).toBe(RAY)
    expect(compoundedInterestV3_4(rate, 0n, SECONDS_PER_YEAR)).not.toBe(
      compoundedInterestV3_0(rate, 0n, SECONDS_PER_YEAR),
    )
  })
})

describe('scaled balances from v3.5 Mint/Burn values', () => {
  // ScaledBalanceTokenBase._mintScaled/_burnScaled, written out as the contract computes them.
  const balance = (kind: 'aToken' | 'variableDebt', scaled: bigint, index: bigint) =>
    kind === 'aToken' ? rayMulFloor(scaled, index) : rayMulCeil(scaled, index)
  const random = createRandom(99)
  const big = (digits: number) => BigInt(Math.floor(random() * 10 ** 9)) * 10n ** BigInt(digits)

  it('recovers the exact scaled balance after thousands of random mints and burns', () => {
    let checked = 0
    for (const kind of ['aToken', 'variableDebt'] as const) {
      for (let i = 0; i < 2000; i++) {
        const previousIndex = RAY + big(Math.floor(random() * 18))
        const index = previousIndex + big(Math.floor(random() * 17))
        const scaled = big(Math.floor(random() * 15)) + BigInt(Math.floor(random() * 1000))
        const amountScaled = BigInt(Math.floor(random() * 1000)) + 1n + big(Math.floor(random() * 14))
        const previous = balance(kind, scaled, previousIndex)
        const increase = balance(kind, scaled, index) - previous
        // Mint
        const minted = balance(kind, scaled + amountScaled, index) - previous
        expect(scaledAfterEventV3_5(scaled, minted - increase, index, kind)).toBe(scaled + amountScaled)
        checked++
        // Burn (a Mint event when the interest exceeds what is burned)
        if (amountScaled > scaled) continue
        const next = balance(kind, scaled - amountScaled, index)
        const signed = next > previous ? next - previous - increase : -(previous - next + increase)
        expect(scaledAfterEventV3_5(scaled, signed, index, kind)).toBe(scaled - amountScaled)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(5000)
  })
})

describe('v3.6 account data', () => {
  const weth = reserve(0, { ltv: 8000n, liquidationThreshold: 8250n, liquidationBonus: 10500n })
  const steth = reserve(1, { ltv: 0n, liquidationThreshold: 7500n, liquidationBonus: 10700n })
  const dai = reserve(2)
  const m = market([weth, steth, dai], [2000n * E8, 2100n * E8, E8], 10n)
  m.eModes.set(1, {
    id: 1,
    ltv: 9000,
    liquidationThreshold: 9300,
    liquidationBonus: 10100,
    priceSource: '0x0000000000000000000000000000000000000000',
    label: 'ETH',
    collateralBitmap: 0b011n,
    ltvzeroBitmap: 0b000n,
  })
  const p = pos({
    config: collateralBit(0) | collateralBit(1) | borrowBit(0),
    eMode: 1,
    scaledCollateral: [WAD, WAD],
    scaledDebt: [(WAD * 3n) / 2n],
  })

  it('uses the category LTV and threshold for the collateral bitmap, even over a reserve LTV of 0', () => {
    const data = userAccountData(createMarketView(m, 1000n), p)
    expect(data.ltv).toBe(9000n)
    expect(data.currentLiquidationThreshold).toBe(9300n)
    // HF = wadDiv(Σ value·lt, debt) / 100_00, no averaged threshold in between.
    const weighted = (2000n * E8 + 2100n * E8) * 9300n
    const debt = 3000n * E8
    expect(data.healthFactor).toBe((weighted * WAD + debt / 2n) / debt / 10_000n)
  })

  it('a reserve in the LTV-zero bitmap counts with LTV 0 but keeps the category threshold', () => {
    const zeroed = structuredClone(m)
    const category = zeroed.eModes.get(1)
    if (category) category.ltvzeroBitmap = 0b010n
    const data = userAccountData(createMarketView(zeroed, 1000n), p)
    expect(data.ltv).toBe((2000n * E8 * 9000n) / (4100n * E8))
    expect(data.currentLiquidationThreshold).toBe(9300n)
  })

  it('rounds debt up and collateral down', () => {
    const odd = structuredClone(m)
    for (const r of odd.reserves.values()) {
      r.liquidityIndex = RAY + 1n
      r.variableBorrowIndex = RAY + 1n
    }
    const q = pos({
      config: collateralBit(2) | borrowBit(2),
      scaledCollateral: [0n, 0n, 3n],
      scaledDebt: [0n, 0n, 3n],
    })
    const data = userAccountData(createMarketView(odd, 1000n), q)
    expect(data.totalCollateralBase).toBe(0n) // floor(3 wei · $1 / 1e18)
    expect(data.totalDebtBase).toBe(1n) // ceil(4 wei · $1 / 1e18)
  })
})

describe('v3.3 close factor and dust rule', () => {
  const base = {
    reserveDebt: 3000n * WAD,
    reserveDebtBase: 3000n * E8,
    reserveCollateralBase: 2500n * E8,
    totalDebtBase: 3000n * E8,
    healthFactor: 96n * 10n ** 16n,
    debtPrice: E8,
    debtUnit: WAD,
  }

  it('allows the whole reserve debt below 2000 base units or at HF ≤ 0.95, else half the total', () => {
    expect(maxLiquidatableDebtV3_3(base)).toBe(1500n * WAD)
    expect(maxLiquidatableDebtV3_3({ ...base, reserveCollateralBase: 2000n * E8 - 1n })).toBe(
      base.reserveDebt,
    )
    expect(maxLiquidatableDebtV3_3({ ...base, reserveDebtBase: 2000n * E8 - 1n })).toBe(base.reserveDebt)
    expect(maxLiquidatableDebtV3_3({ ...base, healthFactor: 95n * 10n ** 16n })).toBe(base.reserveDebt)
    // A reserve holding less than half of the total debt may be taken whole.
    expect(maxLiquidatableDebtV3_3({ ...base, totalDebtBase: 7000n * E8 })).toBe(base.reserveDebt)
  })

  it('refuses leftovers under 1000 base units unless the debt or the collateral is taken whole', () => {
    const call = {
      reserveDebt: 3000n * WAD,
      debtRepaid: 1000n * WAD,
      collateralBalance: 2000n * WAD,
      collateralSeized: 1000n * WAD,
      debtPrice: E8,
      debtUnit: WAD,
      collateralPrice: E8,
      collateralUnit: WAD,
    }
    expect(leavesDustV3_3(call)).toBe(false)
    expect(leavesDustV3_3({ ...call, collateralSeized: 1000n * WAD + 1n })).toBe(true)
    // The debt left is valued rounding up: one wei short of $1000 still counts as $1000.
    expect(leavesDustV3_3({ ...call, debtRepaid: 2000n * WAD + 1n })).toBe(false)
    expect(leavesDustV3_3({ ...call, debtRepaid: 2000n * WAD + 10n ** 10n })).toBe(true)
    expect(leavesDustV3_3({ ...call, collateralSeized: 2000n * WAD })).toBe(false)
    expect(leavesDustV3_3({ ...call, debtRepaid: 3000n * WAD })).toBe(false)
    expect(MIN_LEFTOVER_BASE_V3_3).toBe(1000n * E8)
  })
})

describe('v3.6 liquidation sizing', () => {
  // Collateral A $2050 and B $1400 (threshold 85%), debt $3000 in one reserve: HF 0.9775, both
  // sides above 2000, so at most half the debt; seizing $1500 × 1.05 of A would leave $475 of it.
  const a = reserve(0, {
    liquidationThreshold: 8500n,
    liquidationBonus: 10500n,
    liquidationProtocolFee: 1000n,
  })
  const b = reserve(1, { liquidationThreshold: 8500n, liquidationBonus: 10500n })
  const debt = reserve(2)
  const m = market([a, b, debt], [E8, E8, E8], 10n)
  const p = pos({
    config: collateralBit(0) | collateralBit(1) | borrowBit(2),
    scaledCollateral: [2050n * WAD, 1400n * WAD],
    scaledDebt: [0n, 0n, 3000n * WAD],
  })
  const view = createMarketView(m, 1000n)
  const account = userAccountData(view, p)

  it('knows the maximum call would revert for dust, and sizes the largest call that does not', () => {
    expect(account.healthFactor).toBeLessThan(WAD)
    expect(account.healthFactor).toBeGreaterThan(95n * 10n ** 16n)
    const max = sizeLiquidation(view, p, account, 0, 2)
    expect(max?.leavesDust).toBe(true)
    expect(quoteLiquidation(view, p, account, 0, 2)).toBeUndefined()
    const best = liquidationQuotes(view, p, account).find((q) => q.collateralAsset === a.asset)
    expect(best?.dustLimited).toBe(true)
    const amount = best?.callDebtToCover ?? 0n
    expect(sizeLiquidation(view, p, account, 0, 2, amount)?.leavesDust).toBe(false)
    expect(sizeLiquidation(view, p, account, 0, 2, amount + 1n)?.leavesDust).toBe(true)
    // What is left of A is then at least the floor.
    const left = 2050n * WAD - (best?.collateralReceived ?? 0n) - (best?.protocolFee ?? 0n)
    expect((left * E8) / WAD).toBeGreaterThanOrEqual(MIN_LEFTOVER_BASE_V3_3)
  })

  it('takes the whole position of a small account, and reports the deficit when the last collateral goes', () => {
    const small = pos({
      config: collateralBit(0) | borrowBit(2),
      scaledCollateral: [1000n * WAD],
      scaledDebt: [0n, 0n, 1100n * WAD],
    })
    const data = userAccountData(view, small)
    const [best] = liquidationQuotes(view, small, data)
    expect(best?.callDebtToCover).toBe(MAX_UINT256)
    expect(best?.createsDeficit).toBe(true)
    expect((best?.collateralReceived ?? 0n) + (best?.protocolFee ?? 0n)).toBe(1000n * WAD)
    expect(best?.deficit).toBe(1100n * WAD - (best?.debtToCover ?? 0n))
  })

  it('refuses while either reserve is in its liquidation grace period', () => {
    const graced = structuredClone(m)
    const reserveA = [...graced.reserves.values()][0]
    if (reserveA) reserveA.liquidationGracePeriodUntil = 1000n
    expect(sizeLiquidation(createMarketView(graced, 1000n), p, account, 0, 2)).toBeUndefined()
    expect(sizeLiquidation(createMarketView(graced, 1001n), p, account, 0, 2)).toBeDefined()
  })

  it('knows only the revisions it was verified on', () => {
    expect(rulesForRevision(10n)?.version).toBe('3.6')
    expect(rulesForRevision(2n)?.version).toBe('3.0')
    expect(rulesForRevision(9n)).toBeUndefined()
  })
})

describe('the dust-free search', () => {
  it('finds the largest fitting amount from any starting guess (against counting up)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 300n }),
        fc.bigInt({ min: 0n, max: 300n }),
        fc.bigInt({ min: -5n, max: 400n }),
        (high, boundary, guess) => {
          let asked = 0
          const fits = (amount: bigint) => {
            asked++
            return amount <= boundary ? amount : undefined
          }
          let expected: bigint | undefined
          for (let x = 1n; x <= high; x++) if (x <= boundary) expected = x
          expect(largestFitting(fits, high, guess)).toBe(expected)
          expect(asked).toBeLessThanOrEqual(40)
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it('sizes the same dust-limited call as bisecting the whole range, for any balances and prices', () => {
    const a = reserve(0, {
      liquidationThreshold: 8500n,
      liquidationBonus: 10500n,
      liquidationProtocolFee: 1000n,
    })
    const b = reserve(1, { liquidationThreshold: 8000n, liquidationBonus: 10750n })
    const debt = reserve(2, { decimals: 6 })
    let dustLimited = 0
    fc.assert(
      fc.property(
        // Pairs of $1.5k-6k: where the dust rule bites (smaller ones are taken whole, larger ones
        // leave plenty after half the debt).
        fc.bigInt({ min: 1_500n, max: 6_000n }),
        fc.bigInt({ min: 0n, max: 3_000n }),
        // Debt over the weighted collateral: health factors from 0.77 to just under 1.
        fc.bigInt({ min: 1_001n, max: 1_300n }),
        fc.bigInt({ min: 50n * E8, max: 5_000n * E8 }),
        (collateralA, collateralB, over, priceA) => {
          const debtUsd = ((collateralA * 8_500n + collateralB * 8_000n) * over) / 10_000_000n + 1n
          const m = market([a, b, debt], [priceA, E8, E8], 10n)
          const p = pos({
            config: collateralBit(0) | (collateralB > 0n ? collateralBit(1) : 0n) | borrowBit(2),
            scaledCollateral: [(collateralA * WAD * E8) / priceA, collateralB * WAD],
            scaledDebt: [0n, 0n, debtUsd * 10n ** 6n],
          })
          const view = createMarketView(m, 1000n)
          const account = userAccountData(view, p)
          for (const c of collateralB > 0n ? [0, 1] : [0]) {
            const max = sizeLiquidation(view, p, account, c, 2)
            if (!max?.quote || !max.leavesDust) continue
            // Reference: bisect [1, what the maximum call repays] for the largest amount without dust.
            let low = 0n
            let high = max.quote.debtToCover
            while (low < high) {
              const mid = (low + high + 1n) / 2n
              if (sizeLiquidation(view, p, account, c, 2, mid)?.leavesDust === false) low = mid
              else high = mid - 1n
            }
            const quote = liquidationQuotes(view, p, account).find(
              (q) => q.collateralAsset === view.reserves[c]?.asset,
            )
            if (low === 0n) {
              expect(quote).toBeUndefined()
              continue
            }
            dustLimited++
            expect(quote?.dustLimited).toBe(true)
            expect(quote?.callDebtToCover).toBe(low)
          }
        },
      ),
      // A fixed seed: the same 600 accounts every run, so the count below is a fact, not luck.
      { numRuns: 600, seed: 20_261_203 },
    )
    expect(dustLimited).toBeGreaterThan(20)
  })
})
