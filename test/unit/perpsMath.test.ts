/**
 * The clearinghouse formulas at their edges, from hand-computed values: band edges (MM continuous),
 * the haircut cap, funding sign and truncation, the riskiest-position tie rule, buffer sizing and
 * the per-call cap.
 */
import { describe, expect, it } from 'vitest'
import {
  accountHealth,
  closeSize,
  fundingIndexAt,
  haircutBps,
  positionMargins,
  quoteLiquidation,
  riskiestMarket,
  trade,
  WAD,
} from '../../strategies/xmargin-perps/math.js'
import type {
  AccountState,
  CollateralState,
  MarketState,
  PerpsState,
} from '../../strategies/xmargin-perps/state.js'

const BPS = 10_000n
/** Bands as the contract builds them: caps 100k / 1M, MMR 2% / 5% / 10%, amounts for continuity. */
function market(marketId: number, extra: Partial<MarketState> = {}): MarketState {
  const cap1 = 100_000n * WAD
  const cap2 = 1_000_000n * WAD
  const mm1 = (cap1 * 300n) / BPS
  const mm2 = mm1 + (cap2 * 500n) / BPS
  const im1 = (cap1 * 600n) / BPS
  const im2 = im1 + (cap2 * 1_000n) / BPS
  return {
    marketId,
    symbol: `M${marketId}`,
    feedId: `0x${String(marketId).padStart(64, '0')}`,
    volMarginFactorBps: 0n,
    volatilityBps: 0n,
    fundingRatePerSecond: 0n,
    fundingIndex: 0n,
    lastFundingUpdate: 0n,
    maxLiquidationNotional: 10n ** 30n,
    bands: [
      { notionalCap: cap1, mmrBps: 200n, imrBps: 400n, mmAmount: 0n, imAmount: 0n },
      { notionalCap: cap2, mmrBps: 500n, imrBps: 1_000n, mmAmount: mm1, imAmount: im1 },
      { notionalCap: 2n ** 256n - 1n, mmrBps: 1_000n, imrBps: 2_000n, mmAmount: mm2, imAmount: im2 },
    ],
    ...extra,
  }
}
const usdc: CollateralState = {
  assetId: 0,
  token: '0x0000000000000000000000000000000000000001',
  symbol: 'USDC',
  decimals: 6,
  feedId: `0x${'cc'.repeat(32)}`,
  baseHaircutBps: 0n,
  volHaircutFactorBps: 0n,
  maxHaircutBps: 0n,
  volatilityBps: 0n,
}
function state(markets: MarketState[], extra: Partial<PerpsState['params']> = {}): PerpsState {
  return {
    clearinghouse: '0x00000000000000000000000000000000000000c1',
    pyth: '0x00000000000000000000000000000000000000c2',
    params: { maxPriceAge: 60n, bonusBps: 100n, bufferBps: 500n, minAccountMargin: 0n, ...extra },
    insuranceFund: 0n,
    updateFeeWei: 0n,
    collaterals: [usdc],
    markets,
    expos: new Map(),
    prices: new Map(),
    accounts: new Map(),
    block: { number: 1n, hash: '0x', timestamp: 0n },
  }
}
const account = (usd: bigint, positions: [number, bigint, bigint][]): AccountState => ({
  balances: new Map([[0, usd * 10n ** 6n]]),
  settlement: 0n,
  positions: new Map(
    positions.map(([m, size, openNotional]) => [m, { size, openNotional, entryFundingIndex: 0n }]),
  ),
})

describe('maintenance margin bands', () => {
  const m = market(0)
  const at = (notionalUsd: bigint) => positionMargins(m, notionalUsd * WAD, WAD).mm
  it('is notional × rate − amount in each band', () => {
    expect(at(50_000n)).toBe(1_000n * WAD) // 2%
    expect(at(500_000n)).toBe(25_000n * WAD - 3_000n * WAD) // 5% − 3,000
    expect(at(2_000_000n)).toBe(200_000n * WAD - 53_000n * WAD) // 10% − (3,000 + 50,000)
  })
  it('is continuous at the edges', () => {
    expect(at(100_000n)).toBe(2_000n * WAD)
    expect(positionMargins(m, 100_000n * WAD + 1n, WAD).mm).toBe(2_000n * WAD) // just above: 5% − 3,000 = 2,000
    expect(at(1_000_000n)).toBe(47_000n * WAD)
    expect(positionMargins(m, 1_000_000n * WAD + 10n ** 10n, WAD).mm - 47_000n * WAD).toBeLessThan(10n ** 10n)
  })
  it('is raised with volatility and independent of the side', () => {
    const volatile = market(0, { volMarginFactorBps: 5_000n, volatilityBps: 8_000n }) // × (1 + 0.5 × 0.8)
    expect(positionMargins(volatile, -50_000n * WAD, WAD).mm).toBe(1_400n * WAD)
  })
})

describe('haircut', () => {
  it('grows with volatility and is capped', () => {
    const c = { ...usdc, baseHaircutBps: 500n, volHaircutFactorBps: 2_000n, maxHaircutBps: 3_000n }
    expect(haircutBps({ ...c, volatilityBps: 5_000n })).toBe(1_500n)
    expect(haircutBps({ ...c, volatilityBps: 20_000n })).toBe(3_000n)
  })
})

describe('funding', () => {
  it('accrues per second from the checkpoint; longs owe when the rate is positive', () => {
    const m = market(0, { fundingRatePerSecond: 10n ** 12n, fundingIndex: 5n, lastFundingUpdate: 100n })
    expect(fundingIndexAt(m, 160n)).toBe(5n + 60n * 10n ** 12n)
    const s = state([m])
    const long = account(10_000n, [[0, 2n * WAD, 2n * WAD]])
    const short = account(10_000n, [[0, -2n * WAD, -2n * WAD]])
    const prices = { collateral: [WAD], market: [WAD] }
    const owed = 2n * (5n + 60n * 10n ** 12n) // size × (index − 0) / 1e18 with size 2e18
    expect(accountHealth(s, long, prices, 160n).netValue).toBe(10_000n * WAD - owed)
    expect(accountHealth(s, short, prices, 160n).netValue).toBe(10_000n * WAD + owed)
  })
  it('truncates toward zero for both signs, as Solidity', () => {
    const m = market(0, { fundingRatePerSecond: 3n, lastFundingUpdate: 0n })
    const s = state([m])
    const prices = { collateral: [WAD], market: [WAD] }
    // Funding: size ±1 wei × index 3 / 1e18 truncates to 0 either way (a floor would give −1 for the short).
    expect(accountHealth(s, account(0n, [[0, 1n, 1n]]), prices, 1n).netValue).toBe(0n)
    expect(accountHealth(s, account(0n, [[0, -1n, -1n]]), prices, 1n).netValue).toBe(0n)
    // Unrealized PnL of −1 wei × price 0.5 truncates to 0 too: −0.5 → 0, not −1.
    expect(
      accountHealth(s, account(0n, [[0, -1n, 0n]]), { collateral: [WAD], market: [WAD / 2n] }, 0n).netValue,
    ).toBe(0n)
  })
  it('is settled into the settlement balance on a trade', () => {
    const m = market(0, { fundingRatePerSecond: 10n ** 15n })
    const after = trade(account(0n, [[0, WAD, WAD]]), m, WAD, WAD, 10n)
    expect(after.settlement).toBe(-(10n ** 16n))
    expect(after.positions.get(0)).toEqual({
      size: 2n * WAD,
      openNotional: 2n * WAD,
      entryFundingIndex: 10n ** 16n,
    })
  })
})

describe('liquidation', () => {
  it('closes the position with the largest MM first, ties to the lowest market id', () => {
    const s = state([market(0), market(1), market(2)])
    const prices = { collateral: [WAD], market: [WAD, WAD, WAD] }
    const tie = account(0n, [
      [2, 10_000n * WAD, 10_000n * WAD],
      [1, -10_000n * WAD, -10_000n * WAD],
    ])
    expect(riskiestMarket(s, tie, prices)?.marketId).toBe(1)
    const bigger = account(0n, [
      [0, 10_000n * WAD, 10_000n * WAD],
      [2, 10_001n * WAD, 10_001n * WAD],
    ])
    expect(riskiestMarket(s, bigger, prices)?.marketId).toBe(2)
  })

  it('closes the smallest size that restores MM × (1 + buffer)', () => {
    // 100k long at 1 with 1,900 USD: MM 2,000 > 1,900. After closing c: need 1,900 − 1%·c ≥ 2%·(100k − c) × 1.05.
    // 1,900 − 0.01c ≥ 2,100 − 0.021c ⇔ c ≥ 18,181.81…; the contract finds the smallest wei-exact c.
    const s = state([market(0)])
    const a = account(1_900n, [[0, 100_000n * WAD, 100_000n * WAD]])
    const prices = { collateral: [WAD], market: [WAD] }
    const health = accountHealth(s, a, prices, 0n)
    expect(health).toEqual({
      netValue: 1_900n * WAD,
      maintenanceMargin: 2_000n * WAD,
      initialMargin: 4_000n * WAD,
    })
    const c = closeSize(s, s.markets[0] as MarketState, 100_000n * WAD, WAD, health)
    const ok = (x: bigint) =>
      1_900n * WAD - (x * 100n) / BPS >= ((((100_000n * WAD - x) * 200n) / BPS) * 10_500n) / BPS
    expect(ok(c)).toBe(true)
    expect(ok(c - 1n)).toBe(false)
    expect(c / WAD).toBe(18_181n)
  })

  it('caps one call at maxLiquidationNotional and pays closed notional × bonus', () => {
    const s = state([market(0, { maxLiquidationNotional: 5_000n * WAD })])
    s.insuranceFund = 0n
    const a = account(1_900n, [[0, 100_000n * WAD, 100_000n * WAD]])
    const q = quoteLiquidation(s, a, { collateral: [WAD], market: [WAD] }, 0n)
    expect(q?.sizeClosed).toBe(5_000n * WAD)
    expect(q?.reward).toBe(50n * WAD)
    expect(q?.after.positions.get(0)?.size).toBe(95_000n * WAD)
  })

  it('takes the whole position when no partial close is enough, the shortfall from insurance', () => {
    const s = state([market(0)])
    s.insuranceFund = 10n * WAD
    // Underwater: 1,000 of collateral against a 100k long that lost 1,500.
    const a = account(1_000n, [[0, 100_000n * WAD, 101_500n * WAD]])
    const q = quoteLiquidation(s, a, { collateral: [WAD], market: [WAD] }, 0n)
    expect(q?.sizeClosed).toBe(100_000n * WAD)
    expect(q?.bonus).toBe(1_000n * WAD)
    expect(q?.reward).toBe(10n * WAD) // the account has nothing left; insurance pays 10, the rest is bad debt
    expect(q?.badDebt).toBe(990n * WAD)
  })

  it('quotes nothing for a healthy account', () => {
    const s = state([market(0)])
    expect(
      quoteLiquidation(
        s,
        account(10_000n, [[0, 100_000n * WAD, 100_000n * WAD]]),
        { collateral: [WAD], market: [WAD] },
        0n,
      ),
    ).toBeUndefined()
  })
})
