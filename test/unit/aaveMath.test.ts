/** Aave v3.0.2 math without a chain: interest, account data, liquidation sizing, at their edges. */
import { Decimal } from 'decimal.js'
import { describe, expect, it } from 'vitest'
import { syntheticMarket } from '../../bench/syntheticMarket.js'
import { MAX_UINT256, RAY, SECONDS_PER_YEAR, WAD } from '../../strategies/aave-v3/fixedPoint.js'
import {
  collateralBalance,
  createMarketView,
  linearInterest,
  liquidationQuotes,
  normalizedDebt,
  normalizedIncome,
  quoteLiquidation,
  userAccountData,
} from '../../strategies/aave-v3/math.js'
import { compoundedInterestV3_0 as compoundedInterest } from '../../strategies/aave-v3/rules.js'
import { borrowBit, collateralBit, hf, market, pos, reserve } from '../support/marketFixtures.js'

describe('interest', () => {
  it('returns the stored index when no time has passed', () => {
    const r = reserve(0, {
      liquidityIndex: 2n * RAY,
      variableBorrowIndex: 3n * RAY,
      liquidityRate: RAY,
      variableBorrowRate: RAY,
    })
    expect(normalizedIncome(r, 1000n)).toBe(2n * RAY)
    expect(normalizedDebt(r, 1000n)).toBe(3n * RAY)
    expect(compoundedInterest(RAY, 5n, 5n)).toBe(RAY)
  })

  it('linear interest over a year at 10% is exactly 1.1', () => {
    expect(linearInterest(RAY / 10n, 0n, SECONDS_PER_YEAR)).toBe(RAY + RAY / 10n)
  })

  it('compounded interest has the binomial terms (1 s: first term only; 2 s: second term appears)', () => {
    const rate = RAY / 2n
    expect(compoundedInterest(rate, 0n, 1n)).toBe(RAY + rate / SECONDS_PER_YEAR)
    const two = compoundedInterest(rate, 0n, 2n)
    expect(two).toBeGreaterThan(RAY + (rate * 2n) / SECONDS_PER_YEAR)
  })

  it('compounded interest over a year stays below e^rate and within 0.5% of it (3-term expansion)', () => {
    const rate = (RAY * 30n) / 100n
    const approx = new Decimal(compoundedInterest(rate, 0n, SECONDS_PER_YEAR).toString()).div(RAY.toString())
    const exact = new Decimal(0.3).exp()
    expect(approx.lt(exact)).toBe(true)
    expect(exact.minus(approx).div(exact).lt(0.005)).toBe(true)
  })
})

describe('userAccountData', () => {
  const r0 = reserve(0)
  const r1 = reserve(1, { decimals: 6, ltv: 0n, liquidationThreshold: 7000n })
  const r2 = reserve(2, { liquidationThreshold: 0n, ltv: 0n })
  const m = market([r0, r1, r2], [2000n * 10n ** 8n, 10n ** 8n, 5n * 10n ** 8n])
  const view = createMarketView(m, 1000n)

  it('an empty configuration gives zeros and an infinite health factor', () => {
    const data = userAccountData(view, pos({}))
    expect(data.healthFactor).toBe(MAX_UINT256)
    expect(data.totalCollateralBase).toBe(0n)
  })

  it('LTV-0 collateral counts toward the threshold but not the LTV; zero-threshold collateral counts for nothing', () => {
    const p = pos({
      config: collateralBit(0) | collateralBit(1) | collateralBit(2),
      scaledCollateral: [WAD, 1000n * 10n ** 6n, 100n * WAD],
    })
    const data = userAccountData(view, p)
    expect(data.totalCollateralBase).toBe(2000n * 10n ** 8n + 1000n * 10n ** 8n)
    expect(data.ltv).toBe((2000n * 8000n) / 3000n)
    expect(data.currentLiquidationThreshold).toBe((2000n * 8500n + 1000n * 7000n) / 3000n)
  })

  it('disabled collateral is ignored; debt with no collateral gives health factor 0', () => {
    const p = pos({ config: borrowBit(0), scaledCollateral: [10n * WAD], scaledDebt: [WAD] })
    const data = userAccountData(view, p)
    expect(data.totalCollateralBase).toBe(0n)
    expect(data.totalDebtBase).toBe(2000n * 10n ** 8n)
    expect(data.healthFactor).toBe(0n)
    expect(data.availableBorrowsBase).toBe(0n)
  })

  it('floors each value separately (sub-unit balances vanish)', () => {
    const p = pos({ config: collateralBit(1), scaledCollateral: [0n, 0n] })
    p.scaledCollateral[1] = 0n
    expect(userAccountData(view, p).totalCollateralBase).toBe(0n)
    const tiny = pos({ config: collateralBit(0), scaledCollateral: [10n ** 9n] }) // 1e-9 ETH * 2000e8 / 1e18 = 200 → floor
    expect(userAccountData(view, tiny).totalCollateralBase).toBe((10n ** 9n * 2000n * 10n ** 8n) / WAD)
  })

  it('eMode uses the category thresholds and price source for assets in the category', () => {
    const a = reserve(0, { eModeCategory: 1 })
    const b = reserve(1, { eModeCategory: 1, decimals: 18 })
    const m2 = market([a, b], [1000n * 10n ** 8n, 1100n * 10n ** 8n])
    m2.eModes.set(1, {
      id: 1,
      ltv: 9000,
      liquidationThreshold: 9300,
      liquidationBonus: 10200,
      priceSource: a.asset.toLowerCase() as `0x${string}`,
      label: 'x',
    })
    const v = createMarketView(m2, 1000n)
    const p = pos({
      config: collateralBit(1) | borrowBit(0),
      eMode: 1,
      scaledCollateral: [0n, WAD],
      scaledDebt: [WAD / 2n],
    })
    const data = userAccountData(v, p)
    expect(data.totalCollateralBase).toBe(1000n * 10n ** 8n) // b priced at a's price
    expect(data.ltv).toBe(9000n)
    expect(data.healthFactor).toBe(
      (((1000n * 10n ** 8n * 9300n + 5000n) / 10000n) * WAD + 250n * 10n ** 8n) / (500n * 10n ** 8n),
    )
  })

  it('handles very large balances exactly', () => {
    const p = pos({
      config: collateralBit(0) | borrowBit(0),
      scaledCollateral: [2n ** 100n],
      scaledDebt: [2n ** 99n],
    })
    const data = userAccountData(view, p)
    expect(data.totalCollateralBase).toBe((2n ** 100n * 2000n * 10n ** 8n) / WAD)
    expect(data.healthFactor).toBe(
      (((data.totalCollateralBase * 8500n + 5000n) / 10000n) * WAD + data.totalDebtBase / 2n) /
        data.totalDebtBase,
    )
  })
})

describe('liquidation sizing (v3.0.2)', () => {
  const coll = reserve(0, { liquidationBonus: 10500n, liquidationProtocolFee: 1000n })
  const debt = reserve(1, { decimals: 6 })
  const m = market([coll, debt], [2000n * 10n ** 8n, 10n ** 8n])
  const view = createMarketView(m, 1000n)
  const p = pos({
    config: collateralBit(0) | borrowBit(1),
    scaledCollateral: [10n * WAD],
    scaledDebt: [0n, 18_000n * 10n ** 6n],
  })

  it('applies a 50% close factor above HF 0.95 and 100% at or below it', () => {
    const half = quoteLiquidation(view, p, hf(950_000_000_000_000_001n), 0, 1)
    const full = quoteLiquidation(view, p, hf(950_000_000_000_000_000n), 0, 1)
    expect(half?.closeFactorBps).toBe(5000n)
    expect(half?.debtToCover).toBe(9_000n * 10n ** 6n)
    expect(full?.closeFactorBps).toBe(10000n)
  })

  it('sizes collateral with the bonus and takes the protocol fee from the bonus part', () => {
    const q = quoteLiquidation(view, p, hf(960_000_000_000_000_000n), 0, 1)
    const base = (10n ** 8n * 9_000n * 10n ** 6n * WAD) / (2000n * 10n ** 8n * 10n ** 6n) // 4.5 ETH
    const withBonus = (base * 10500n + 5000n) / 10000n
    const bonusPart = withBonus - (withBonus * 10000n + 5250n) / 10500n
    const fee = (bonusPart * 1000n + 5000n) / 10000n
    expect(q?.collateralReceived).toBe(withBonus - fee)
    expect(q?.protocolFee).toBe(fee)
  })

  it('caps at the user collateral and recomputes the debt needed', () => {
    const poor = pos({
      config: collateralBit(0) | borrowBit(1),
      scaledCollateral: [WAD],
      scaledDebt: [0n, 18_000n * 10n ** 6n],
    })
    const q = quoteLiquidation(view, poor, hf(100_000_000_000_000_000n), 0, 1)
    const needed = (((2000n * 10n ** 8n * WAD * 10n ** 6n) / (10n ** 8n * WAD)) * 10000n + 5250n) / 10500n
    expect(q?.debtToCover).toBe(needed)
    expect((q?.collateralReceived ?? 0n) + (q?.protocolFee ?? 0n)).toBe(WAD)
    // Asking for exactly that debt runs the uncapped path: never more than the balance, same debt.
    const again = quoteLiquidation(view, poor, hf(100_000_000_000_000_000n), 0, 1, q?.debtToCover ?? 0n)
    expect(again?.debtToCover).toBe(q?.debtToCover)
    expect((again?.collateralReceived ?? 0n) + (again?.protocolFee ?? 0n)).toBeLessThanOrEqual(WAD)
  })

  it('refuses healthy accounts and paused reserves', () => {
    expect(quoteLiquidation(view, p, hf(WAD), 0, 1)).toBeUndefined()
    const paused = createMarketView(
      market([reserve(0, { paused: true }), debt], [2000n * 10n ** 8n, 10n ** 8n]),
      1000n,
    )
    expect(quoteLiquidation(paused, p, hf(WAD / 2n), 0, 1)).toBeUndefined()
  })
})

describe('the amount a v3.0 call names', () => {
  it('re-quoted, gives the same quote wherever less than the whole collateral balance was seized', () => {
    // The planner relies on it to skip the second sizing of every uncapped v3.0 liquidation.
    let uncapped = 0
    let capped = 0
    for (const seed of [1, 2, 3]) {
      const m = syntheticMarket(3_000, seed)
      const v = createMarketView(m, m.block.timestamp + 3_600n)
      for (const position of m.accounts.values()) {
        const data = userAccountData(v, position)
        const [best] = liquidationQuotes(v, position, data)
        if (!best) continue
        const c = m.reserves.get(best.collateralAsset.toLowerCase())?.id as number
        const d = m.reserves.get(best.debtAsset.toLowerCase())?.id as number
        const again = quoteLiquidation(v, position, data, c, d, best.callDebtToCover)
        if (best.collateralReceived + best.protocolFee < collateralBalance(v, position, c)) {
          uncapped++
          expect(again).toEqual(best)
        } else capped++
      }
    }
    // Both kinds occur in these markets (a third of their accounts are underwater).
    expect(uncapped).toBeGreaterThan(100)
    expect(capped).toBeGreaterThan(10)
  })
})
