/**
 * Aave v3.0.2's risk math, exact: interest accrual (MathUtils), reserve normalization (ReserveLogic),
 * account data (GenericLogic.calculateUserAccountData) and liquidation sizing (LiquidationLogic).
 * Pure functions of a MarketView (reserves, prices and eMode categories frozen at one timestamp) and
 * an account's position. Version-specific rules come from `rules.ts`.
 */
import {
  MAX_UINT256,
  mulDivDown,
  percentDiv,
  percentMul,
  RAY,
  rayMul,
  SECONDS_PER_YEAR,
  wadDiv,
} from '../../src/math/fixedPoint.js'
import { type AaveRules, RULES_V3_0 } from './rules.js'
import type { AccountPosition, EModeCategory, MarketState, ReserveState } from './state.js'

export function linearInterest(rate: bigint, lastUpdateTimestamp: bigint, now: bigint): bigint {
  return RAY + (rate * (now - lastUpdateTimestamp)) / SECONDS_PER_YEAR
}

export function compoundedInterest(rate: bigint, lastUpdateTimestamp: bigint, now: bigint): bigint {
  const exp = now - lastUpdateTimestamp
  if (exp <= 0n) return RAY
  const expMinusOne = exp - 1n
  const expMinusTwo = exp > 2n ? exp - 2n : 0n
  const basePowerTwo = rayMul(rate, rate) / (SECONDS_PER_YEAR * SECONDS_PER_YEAR)
  const basePowerThree = rayMul(basePowerTwo, rate) / SECONDS_PER_YEAR
  const secondTerm = (exp * expMinusOne * basePowerTwo) / 2n
  const thirdTerm = (exp * expMinusOne * expMinusTwo * basePowerThree) / 6n
  return RAY + (rate * exp) / SECONDS_PER_YEAR + secondTerm + thirdTerm
}

export function normalizedIncome(reserve: ReserveState, now: bigint): bigint {
  if (reserve.lastUpdateTimestamp === now) return reserve.liquidityIndex
  return rayMul(
    linearInterest(reserve.liquidityRate, reserve.lastUpdateTimestamp, now),
    reserve.liquidityIndex,
  )
}

export function normalizedDebt(reserve: ReserveState, now: bigint): bigint {
  if (reserve.lastUpdateTimestamp === now) return reserve.variableBorrowIndex
  return rayMul(
    compoundedInterest(reserve.variableBorrowRate, reserve.lastUpdateTimestamp, now),
    reserve.variableBorrowIndex,
  )
}

/** Everything per reserve that an evaluation at one timestamp needs, computed once for all accounts. */
export interface MarketView {
  timestamp: bigint
  /** Indexed by reserve id; undefined where the id is unused. */
  reserves: (ReserveState | undefined)[]
  income: bigint[]
  debtIndex: bigint[]
  /** 10^decimals of each reserve. */
  unit: bigint[]
  /** AaveOracle price of each reserve's asset, base currency units. */
  price: bigint[]
  eModes: Map<number, EModeCategory & { sourcePrice: bigint }>
  rules: AaveRules
}

export function createMarketView(
  market: MarketState,
  timestamp: bigint,
  rules: AaveRules = RULES_V3_0,
): MarketView {
  const reserves: (ReserveState | undefined)[] = []
  const income: bigint[] = []
  const debtIndex: bigint[] = []
  const price: bigint[] = []
  const unit: bigint[] = []
  for (const reserve of market.reserves.values()) {
    unit[reserve.id] = 10n ** BigInt(reserve.decimals)
    reserves[reserve.id] = reserve
    income[reserve.id] = normalizedIncome(reserve, timestamp)
    debtIndex[reserve.id] = normalizedDebt(reserve, timestamp)
    price[reserve.id] = market.prices.get(reserve.asset.toLowerCase()) ?? 0n
  }
  const eModes = new Map<number, EModeCategory & { sourcePrice: bigint }>()
  for (const [id, category] of market.eModes) {
    const sourcePrice = category.priceSource === ZERO ? 0n : (market.prices.get(category.priceSource) ?? 0n)
    eModes.set(id, { ...category, sourcePrice })
  }
  return { timestamp, reserves, income, debtIndex, unit, price, eModes, rules }
}

const ZERO = '0x0000000000000000000000000000000000000000'

export interface AccountData {
  totalCollateralBase: bigint
  totalDebtBase: bigint
  availableBorrowsBase: bigint
  currentLiquidationThreshold: bigint
  ltv: bigint
  healthFactor: bigint
}

export const EMPTY_ACCOUNT: AccountData = {
  totalCollateralBase: 0n,
  totalDebtBase: 0n,
  availableBorrowsBase: 0n,
  currentLiquidationThreshold: 0n,
  ltv: 0n,
  healthFactor: MAX_UINT256,
}

export const isBorrowing = (p: AccountPosition, id: number) => ((p.config >> BigInt(id * 2)) & 1n) === 1n
export const isUsingAsCollateral = (p: AccountPosition, id: number) =>
  ((p.config >> BigInt(id * 2 + 1)) & 1n) === 1n

/** Stable debt balance: principal compounded at the user's own rate since the user's timestamp. */
export function stableDebtBalance(position: AccountPosition, id: number, now: bigint): bigint {
  const stable = position.stable?.get(id)
  if (!stable || stable.principal === 0n) return 0n
  return rayMul(stable.principal, compoundedInterest(stable.rate, stable.timestamp, now))
}

export function variableDebtBalance(view: MarketView, position: AccountPosition, id: number): bigint {
  const scaled = position.scaledDebt[id] ?? 0n
  return scaled === 0n ? 0n : rayMul(scaled, view.debtIndex[id] ?? RAY)
}

export function collateralBalance(view: MarketView, position: AccountPosition, id: number): bigint {
  return rayMul(position.scaledCollateral[id] ?? 0n, view.income[id] ?? RAY)
}

/** The price GenericLogic uses for a reserve: the user's eMode source price for reserves in the category. */
function accountPrice(
  view: MarketView,
  reserve: ReserveState,
  eMode: (EModeCategory & { sourcePrice: bigint }) | undefined,
): bigint {
  if (eMode && eMode.sourcePrice !== 0n && reserve.eModeCategory === eMode.id) return eMode.sourcePrice
  return view.price[reserve.id] ?? 0n
}

/** GenericLogic.calculateUserAccountData plus Pool.getUserAccountData's available borrows. */
export function userAccountData(view: MarketView, position: AccountPosition): AccountData {
  if (position.config === 0n) return EMPTY_ACCOUNT
  const eMode = position.eMode !== 0 ? view.eModes.get(position.eMode) : undefined
  let totalCollateral = 0n
  let totalDebt = 0n
  let avgLtv = 0n
  let avgLt = 0n
  // Walk the configuration two bits at a time (borrowing, collateral) and stop at its highest bit.
  let config = position.config
  for (let id = 0; config !== 0n; id++, config >>= 2n) {
    const bits = config & 3n
    if (bits === 0n) continue
    const reserve = view.reserves[id]
    if (!reserve) continue
    const unit = view.unit[id] as bigint
    const price = accountPrice(view, reserve, eMode)
    if (reserve.liquidationThreshold !== 0n && bits >= 2n) {
      const value = (collateralBalance(view, position, id) * price) / unit
      totalCollateral += value
      const inCategory = eMode !== undefined && reserve.eModeCategory === eMode.id
      if (reserve.ltv !== 0n) avgLtv += value * (inCategory ? BigInt(eMode.ltv) : reserve.ltv)
      avgLt += value * (inCategory ? BigInt(eMode.liquidationThreshold) : reserve.liquidationThreshold)
    }
    if ((bits & 1n) === 1n) {
      const debt = variableDebtBalance(view, position, id) + stableDebtBalance(position, id, view.timestamp)
      totalDebt += (price * debt) / unit
    }
  }
  avgLtv = totalCollateral !== 0n ? avgLtv / totalCollateral : 0n
  avgLt = totalCollateral !== 0n ? avgLt / totalCollateral : 0n
  const healthFactor = totalDebt === 0n ? MAX_UINT256 : wadDiv(percentMul(totalCollateral, avgLt), totalDebt)
  let availableBorrows = percentMul(totalCollateral, avgLtv)
  availableBorrows = availableBorrows < totalDebt ? 0n : availableBorrows - totalDebt
  return {
    totalCollateralBase: totalCollateral,
    totalDebtBase: totalDebt,
    availableBorrowsBase: availableBorrows,
    currentLiquidationThreshold: avgLt,
    ltv: avgLtv,
    healthFactor,
  }
}

export interface LiquidationQuote {
  collateralAsset: `0x${string}`
  debtAsset: `0x${string}`
  /** Debt the liquidator repays, in debt asset units (what LiquidationCall reports as debtToCover). */
  debtToCover: bigint
  /** Collateral the liquidator receives, fee excluded (LiquidationCall's liquidatedCollateralAmount). */
  collateralReceived: bigint
  protocolFee: bigint
  /** Value of what is received minus value of what is repaid, at oracle prices, base currency. */
  bonusBase: bigint
  debtValueBase: bigint
  collateralValueBase: bigint
  closeFactorBps: bigint
}

/**
 * LiquidationLogic.executeLiquidationCall's sizing for one (collateral, debt) pair when the caller
 * asks for the maximum (debtToCover = type(uint256).max), or for `requestedDebt` if given.
 */
export function quoteLiquidation(
  view: MarketView,
  position: AccountPosition,
  healthFactor: bigint,
  collateralId: number,
  debtId: number,
  requestedDebt: bigint = MAX_UINT256,
): LiquidationQuote | undefined {
  const collateral = view.reserves[collateralId]
  const debtReserve = view.reserves[debtId]
  if (!collateral || !debtReserve) return undefined
  if (!view.rules.canLiquidate(collateral, debtReserve, healthFactor)) return undefined
  if (collateral.liquidationThreshold === 0n || !isUsingAsCollateral(position, collateralId)) return undefined
  const userTotalDebt =
    variableDebtBalance(view, position, debtId) + stableDebtBalance(position, debtId, view.timestamp)
  if (userTotalDebt === 0n) return undefined
  const closeFactorBps = view.rules.closeFactorBps(healthFactor)
  const maxDebt = percentMul(userTotalDebt, closeFactorBps)
  const debtToLiquidate = requestedDebt > maxDebt ? maxDebt : requestedDebt

  // _getConfigurationData: eMode bonus for collateral in the category; eMode price source for the
  // collateral in the category, and for the debt whenever the category has a source (v3.0.2).
  const eMode = position.eMode !== 0 ? view.eModes.get(position.eMode) : undefined
  let bonus = collateral.liquidationBonus
  let collateralPrice = view.price[collateralId] ?? 0n
  let debtPrice = view.price[debtId] ?? 0n
  if (eMode) {
    if (collateral.eModeCategory === eMode.id) {
      bonus = BigInt(eMode.liquidationBonus)
      if (eMode.sourcePrice !== 0n) collateralPrice = eMode.sourcePrice
    }
    if (eMode.sourcePrice !== 0n) debtPrice = eMode.sourcePrice
  }
  if (collateralPrice === 0n || debtPrice === 0n) return undefined

  const userCollateral = collateralBalance(view, position, collateralId)
  const collateralUnit = 10n ** BigInt(collateral.decimals)
  const debtUnit = 10n ** BigInt(debtReserve.decimals)
  const baseCollateral = (debtPrice * debtToLiquidate * collateralUnit) / (collateralPrice * debtUnit)
  const maxCollateral = percentMul(baseCollateral, bonus)
  let collateralAmount: bigint
  let debtNeeded: bigint
  if (maxCollateral > userCollateral) {
    collateralAmount = userCollateral
    debtNeeded = percentDiv(
      (collateralPrice * collateralAmount * debtUnit) / (debtPrice * collateralUnit),
      bonus,
    )
  } else {
    collateralAmount = maxCollateral
    debtNeeded = debtToLiquidate
  }
  let protocolFee = 0n
  if (collateral.liquidationProtocolFee !== 0n) {
    const bonusCollateral = collateralAmount - percentDiv(collateralAmount, bonus)
    protocolFee = percentMul(bonusCollateral, collateral.liquidationProtocolFee)
  }
  const collateralReceived = collateralAmount - protocolFee
  if (debtNeeded === 0n || collateralReceived === 0n) return undefined
  // Value at each asset's own oracle price: that is what the received tokens are worth.
  const collateralValueBase = mulDivDown(collateralReceived, view.price[collateralId] ?? 0n, collateralUnit)
  const debtValueBase = mulDivDown(debtNeeded, view.price[debtId] ?? 0n, debtUnit)
  return {
    collateralAsset: collateral.asset,
    debtAsset: debtReserve.asset,
    debtToCover: debtNeeded,
    collateralReceived,
    protocolFee,
    bonusBase: collateralValueBase - debtValueBase,
    debtValueBase,
    collateralValueBase,
    closeFactorBps,
  }
}

/** Every liquidatable (collateral, debt) pair of an account, best value to the liquidator first. */
export function liquidationQuotes(
  view: MarketView,
  position: AccountPosition,
  data?: AccountData,
): LiquidationQuote[] {
  const account = data ?? userAccountData(view, position)
  if (account.healthFactor >= view.rules.liquidationThresholdHf) return []
  const quotes: LiquidationQuote[] = []
  const count = view.reserves.length
  for (let c = 0; c < count; c++) {
    if (!isUsingAsCollateral(position, c) || (position.scaledCollateral[c] ?? 0n) === 0n) continue
    for (let d = 0; d < count; d++) {
      if (!isBorrowing(position, d)) continue
      const quote = quoteLiquidation(view, position, account.healthFactor, c, d)
      if (quote) quotes.push(quote)
    }
  }
  return quotes.sort((a, b) => (a.bonusBase > b.bonusBase ? -1 : a.bonusBase < b.bonusBase ? 1 : 0))
}
