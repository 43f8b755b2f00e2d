/**
 * The clearinghouse's formulas, exactly as Clearinghouse.sol computes them: unsigned products
 * floored, signed products truncated toward zero (Solidity's and BigInt's division agree), in the
 * same order. Pure: every function takes the state, prices and a timestamp.
 */
import type { AccountState, CollateralState, MarketState, PerpsState, PositionState } from './state.js'

export const WAD = 10n ** 18n
export const BPS = 10_000n

const abs = (x: bigint) => (x < 0n ? -x : x)

/** Pyth (price, expo) → WAD, as `_toWad`; undefined where the contract reverts (BadPrice). */
export function toWad(price: bigint, expo: number): bigint | undefined {
  if (price <= 0n || expo > 0 || expo < -18) return undefined
  return price * 10n ** BigInt(18 + expo)
}

export function haircutBps(c: CollateralState): bigint {
  const h = c.baseHaircutBps + (c.volHaircutFactorBps * c.volatilityBps) / BPS
  return h > c.maxHaircutBps ? c.maxHaircutBps : h
}

export function fundingIndexAt(m: MarketState, timestamp: bigint): bigint {
  return m.fundingIndex + m.fundingRatePerSecond * (timestamp - m.lastFundingUpdate)
}

/** Index of the band a notional falls in: the first whose cap it does not exceed. */
export function bandIndex(m: MarketState, notional: bigint): number {
  let k = 0
  while (k + 1 < m.bands.length && notional > (m.bands[k]?.notionalCap ?? 0n)) k++
  return k
}

/** The volatility raise of a market's margins, in bps (10,000 = none). */
export function volatilityRaiseBps(m: MarketState): bigint {
  return BPS + (m.volMarginFactorBps * m.volatilityBps) / BPS
}

/** MM and IM of a notional as band `k` prices them, raised with volatility (no band: zero). */
export function bandMargins(m: MarketState, k: number, notional: bigint): { mm: bigint; im: bigint } {
  const b = m.bands[k]
  if (!b) return { mm: 0n, im: 0n }
  const rawMm = (notional * b.mmrBps) / BPS
  const rawIm = (notional * b.imrBps) / BPS
  const raise = volatilityRaiseBps(m)
  const mm = rawMm > b.mmAmount ? rawMm - b.mmAmount : 0n
  const im = rawIm > b.imAmount ? rawIm - b.imAmount : 0n
  return { mm: (mm * raise) / BPS, im: (im * raise) / BPS }
}

/** MM and IM of one position at a price (`_positionMargins`). */
export function positionMargins(m: MarketState, size: bigint, price: bigint): { mm: bigint; im: bigint } {
  if (size === 0n) return { mm: 0n, im: 0n }
  if (m.bands.length === 0) throw new Error(`market ${m.marketId} has no bands`)
  const notional = (abs(size) * price) / WAD
  return bandMargins(m, bandIndex(m, notional), notional)
}

export interface Prices {
  collateral: bigint[]
  market: bigint[]
}

export interface Health {
  netValue: bigint
  maintenanceMargin: bigint
  initialMargin: bigint
}

/** `_health`: netValue, MM and IM of an account at prices and a timestamp. */
export function accountHealth(
  state: PerpsState,
  account: AccountState,
  prices: Prices,
  timestamp: bigint,
): Health {
  let netValue = account.settlement
  for (const c of state.collaterals) {
    const amount = account.balances.get(c.assetId) ?? 0n
    if (amount === 0n) continue
    const value = (amount * (prices.collateral[c.assetId] as bigint)) / 10n ** BigInt(c.decimals)
    netValue += (value * (BPS - haircutBps(c))) / BPS
  }
  let mm = 0n
  let im = 0n
  let open = false
  for (const m of state.markets) {
    const p = account.positions.get(m.marketId)
    if (!p || p.size === 0n) continue
    open = true
    const price = prices.market[m.marketId] as bigint
    netValue += (p.size * price) / WAD - p.openNotional
    netValue -= (p.size * (fundingIndexAt(m, timestamp) - p.entryFundingIndex)) / WAD
    const margins = positionMargins(m, p.size, price)
    mm += margins.mm
    im += margins.im
  }
  if (open) {
    mm += state.params.minAccountMargin
    im += state.params.minAccountMargin
  }
  return { netValue, maintenanceMargin: mm, initialMargin: im }
}

/** `_trade` on a copy: funding settled, then sizeDelta at `price`. Returns the new account. */
export function trade(
  account: AccountState,
  m: MarketState,
  sizeDelta: bigint,
  price: bigint,
  timestamp: bigint,
): AccountState {
  const p: PositionState = account.positions.get(m.marketId) ?? {
    size: 0n,
    openNotional: 0n,
    entryFundingIndex: 0n,
  }
  const index = fundingIndexAt(m, timestamp)
  let settlement = account.settlement - (p.size * (index - p.entryFundingIndex)) / WAD
  let size = p.size
  let notional = p.openNotional
  if (size === 0n || size > 0n === sizeDelta > 0n) {
    size += sizeDelta
    notional += (sizeDelta * price) / WAD
  } else {
    const closing = abs(sizeDelta) > abs(size) ? -size : sizeDelta
    const notionalClosed = (notional * -closing) / size
    settlement += (-closing * price) / WAD - notionalClosed
    notional -= notionalClosed
    size += closing
    const rest = sizeDelta - closing
    if (rest !== 0n) {
      size = rest
      notional = (rest * price) / WAD
    }
  }
  if (size === 0n) notional = 0n
  const positions = new Map(account.positions)
  if (size === 0n) positions.delete(m.marketId)
  else positions.set(m.marketId, { size, openNotional: notional, entryFundingIndex: index })
  return { balances: account.balances, settlement, positions }
}

/** The position liquidate() closes first: the largest MM, ties to the lowest marketId. */
export function riskiestMarket(
  state: PerpsState,
  account: AccountState,
  prices: Prices,
): MarketState | undefined {
  let worst: MarketState | undefined
  let worstMm = 0n
  for (const m of state.markets) {
    const p = account.positions.get(m.marketId)
    if (!p || p.size === 0n) continue
    const { mm } = positionMargins(m, p.size, prices.market[m.marketId] as bigint)
    if (worst === undefined || mm > worstMm) {
      worst = m
      worstMm = mm
    }
  }
  return worst
}

function enough(
  state: PerpsState,
  m: MarketState,
  size: bigint,
  closeAbs: bigint,
  price: bigint,
  netValue: bigint,
  others: bigint,
): boolean {
  const remaining = size > 0n ? size - closeAbs : size + closeAbs
  const { mm: mmAfter } = positionMargins(m, remaining, price)
  const bonus = (((closeAbs * price) / WAD) * state.params.bonusBps) / BPS
  const required = ((others + mmAfter) * (BPS + state.params.bufferBps)) / BPS
  return netValue - bonus >= required
}

/** `_closeSize`: the smallest |size| restoring MM × (1 + buffer), found by the same binary search. */
export function closeSize(
  state: PerpsState,
  m: MarketState,
  size: bigint,
  price: bigint,
  health: Health,
): bigint {
  const total = abs(size)
  const { mm: mmNow } = positionMargins(m, size, price)
  const others = health.maintenanceMargin - mmNow
  if (!enough(state, m, size, total, price, health.netValue, others)) return total
  let lo = 0n
  let hi = total
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n
    if (enough(state, m, size, mid, price, health.netValue, others)) hi = mid
    else lo = mid
  }
  return hi
}

export interface LiquidationQuote {
  marketId: number
  sizeClosed: bigint
  price: bigint
  bonus: bigint
  reward: bigint
  fromInsurance: bigint
  badDebt: bigint
  /** The account after the call. */
  after: AccountState
  healthBefore: Health
}

/** What liquidate(account) does at these prices and timestamp, or undefined if it reverts. */
export function quoteLiquidation(
  state: PerpsState,
  account: AccountState,
  prices: Prices,
  timestamp: bigint,
): LiquidationQuote | undefined {
  const health = accountHealth(state, account, prices, timestamp)
  if (health.netValue >= health.maintenanceMargin) return undefined
  const m = riskiestMarket(state, account, prices)
  if (!m) return undefined
  const price = prices.market[m.marketId] as bigint
  const size = (account.positions.get(m.marketId) as PositionState).size
  let closeAbs = closeSize(state, m, size, price, health)
  const capAbs = (m.maxLiquidationNotional * WAD) / price
  if (closeAbs > capAbs) closeAbs = capAbs
  const sizeClosed = size > 0n ? closeAbs : -closeAbs
  const traded = trade(account, m, -sizeClosed, price, timestamp)
  const bonus = (((closeAbs * price) / WAD) * state.params.bonusBps) / BPS
  const netAfter = accountHealth(state, traded, prices, timestamp).netValue
  const fromAccount = netAfter <= 0n ? 0n : netAfter < bonus ? netAfter : bonus
  const shortfall = bonus - fromAccount
  const fromInsurance = shortfall < state.insuranceFund ? shortfall : state.insuranceFund
  return {
    marketId: m.marketId,
    sizeClosed,
    price,
    bonus,
    reward: fromAccount + fromInsurance,
    fromInsurance,
    badDebt: shortfall - fromInsurance,
    after: { ...traded, settlement: traded.settlement - fromAccount },
    healthBefore: health,
  }
}

/** Stored prices as the view reads them (getPriceUnsafe), with optional overrides by feed id. */
export function pricesOf(state: PerpsState, overrides?: Map<string, bigint>): Prices | undefined {
  const read = (feedId: string) =>
    overrides?.get(feedId.toLowerCase()) ?? state.prices.get(feedId.toLowerCase())?.priceWad
  const collateral: bigint[] = []
  const market: bigint[] = []
  for (const c of state.collaterals) {
    const p = read(c.feedId)
    if (p === undefined) return undefined
    collateral[c.assetId] = p
  }
  for (const m of state.markets) {
    const p = read(m.feedId)
    if (p === undefined) return undefined
    market[m.marketId] = p
  }
  return { collateral, market }
}
