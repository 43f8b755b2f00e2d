/**
 * Aave v3's risk math, exact for every supported version: interest accrual (MathUtils), reserve
 * normalization (ReserveLogic), account data (GenericLogic.calculateUserAccountData) and liquidation
 * sizing (LiquidationLogic). Pure functions of a MarketView (reserves, prices and eMode categories
 * frozen at one timestamp, with the version's rules) and an account's position. Where versions
 * differ, the rule lives in `rules.ts`.
 */
import {
  MAX_UINT256,
  mulDivCeil,
  mulDivDown,
  percentDiv,
  percentMul,
  RAY,
  rayMul,
  SECONDS_PER_YEAR,
} from './fixedPoint.js'
import {
  type AaveRules,
  closeFactorBpsV3_0,
  inGracePeriodV3_1,
  leavesDustV3_3,
  MIN_LEFTOVER_BASE_V3_3,
  maxLiquidatableDebtV3_3,
  RULES_V3_0,
  rulesForRevision,
} from './rules.js'
import type { AccountPosition, EModeCategory, MarketState, ReserveState } from './state.js'

export function linearInterest(rate: bigint, lastUpdateTimestamp: bigint, now: bigint): bigint {
  return RAY + (rate * (now - lastUpdateTimestamp)) / SECONDS_PER_YEAR
}

export function normalizedIncome(reserve: ReserveState, now: bigint): bigint {
  if (reserve.lastUpdateTimestamp === now) return reserve.liquidityIndex
  return rayMul(
    linearInterest(reserve.liquidityRate, reserve.lastUpdateTimestamp, now),
    reserve.liquidityIndex,
  )
}

export function normalizedDebt(reserve: ReserveState, now: bigint, rules: AaveRules = RULES_V3_0): bigint {
  if (reserve.lastUpdateTimestamp === now) return reserve.variableBorrowIndex
  return rayMul(
    rules.compoundedInterest(reserve.variableBorrowRate, reserve.lastUpdateTimestamp, now),
    reserve.variableBorrowIndex,
  )
}

/** A reserve's normalized income at the view's time (undefined for an unused id), computed once. */
export function incomeOf(view: MarketView, id: number): bigint | undefined {
  const cached = view.income[id]
  if (cached !== undefined) return cached
  const reserve = view.reserves[id]
  if (!reserve) return undefined
  const value = normalizedIncome(reserve, view.timestamp)
  view.income[id] = value
  return value
}

/** A reserve's normalized variable debt index at the view's time (undefined for an unused id), computed once. */
export function debtIndexOf(view: MarketView, id: number): bigint | undefined {
  const cached = view.debtIndex[id]
  if (cached !== undefined) return cached
  const reserve = view.reserves[id]
  if (!reserve) return undefined
  const value = normalizedDebt(reserve, view.timestamp, view.rules)
  view.debtIndex[id] = value
  return value
}

/** An eMode category as the math reads it: numbers as bigint, membership as reserve-id bitmaps. */
export interface ViewEMode {
  id: number
  ltv: bigint
  liquidationThreshold: bigint
  liquidationBonus: bigint
  /** v3.0 only: the category's price source price, 0 when it has none. */
  sourcePrice: bigint
  /** Reserve ids treated as the category's collateral (v3.0: the reserves in the category). */
  collateralBitmap: bigint
  /** v3.6: reserve ids whose LTV is zero in the category. */
  ltvzeroBitmap: bigint
}

/** Everything per reserve that an evaluation at one timestamp needs, computed once for all accounts. */
export interface MarketView {
  timestamp: bigint
  /** Indexed by reserve id; undefined where the id is unused. */
  reserves: (ReserveState | undefined)[]
  /** Normalized income and debt index at `timestamp`, filled on first use: read them through
   * `incomeOf` / `debtIndexOf` (a plan of a few accounts touches few reserves, and a block's replay
   * makes a view per block). */
  income: bigint[]
  debtIndex: bigint[]
  /** 10^decimals of each reserve. */
  unit: bigint[]
  /** AaveOracle price of each reserve's asset, base currency units. */
  price: bigint[]
  eModes: Map<number, ViewEMode>
  rules: AaveRules
}

/** The rules for the market's Pool revision; throws on a revision the mirror does not know. */
export function marketRules(market: MarketState): AaveRules {
  const rules = rulesForRevision(market.poolRevision)
  if (!rules) throw new Error(`Aave Pool revision ${market.poolRevision} is not supported`)
  return rules
}

export function createMarketView(
  market: MarketState,
  timestamp: bigint,
  rules: AaveRules = marketRules(market),
): MarketView {
  const reserves: (ReserveState | undefined)[] = []
  const income: bigint[] = []
  const debtIndex: bigint[] = []
  const price: bigint[] = []
  const unit: bigint[] = []
  for (const reserve of market.reserves.values()) {
    unit[reserve.id] = 10n ** BigInt(reserve.decimals)
    reserves[reserve.id] = reserve
    price[reserve.id] = market.prices.get(reserve.asset.toLowerCase()) ?? 0n
  }
  const eModes = new Map<number, ViewEMode>()
  for (const [id, category] of market.eModes) eModes.set(id, viewEMode(market, category, rules))
  return { timestamp, reserves, income, debtIndex, unit, price, eModes, rules }
}

function viewEMode(market: MarketState, category: EModeCategory, rules: AaveRules): ViewEMode {
  let collateralBitmap = category.collateralBitmap ?? 0n
  let sourcePrice = 0n
  if (!rules.eModeBitmaps) {
    // v3.0: a reserve belongs to one category (its configuration's eModeCategory), and the
    // category may price all its members with one source.
    collateralBitmap = 0n
    for (const reserve of market.reserves.values())
      if (reserve.eModeCategory === category.id) collateralBitmap |= 1n << BigInt(reserve.id)
    if (category.priceSource !== ZERO) sourcePrice = market.prices.get(category.priceSource) ?? 0n
  }
  return {
    id: category.id,
    ltv: BigInt(category.ltv),
    liquidationThreshold: BigInt(category.liquidationThreshold),
    liquidationBonus: BigInt(category.liquidationBonus),
    sourcePrice,
    collateralBitmap,
    ltvzeroBitmap: rules.eModeBitmaps ? (category.ltvzeroBitmap ?? 0n) : 0n,
  }
}

const ZERO = '0x0000000000000000000000000000000000000000'

const inBitmap = (bitmap: bigint, id: number) => ((bitmap >> BigInt(id)) & 1n) === 1n

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

/** v3.0 stable debt: principal compounded at the user's own rate since the user's timestamp. */
export function stableDebtBalance(position: AccountPosition, id: number, now: bigint): bigint {
  const stable = position.stable?.get(id)
  if (!stable || stable.principal === 0n) return 0n
  return rayMul(stable.principal, RULES_V3_0.compoundedInterest(stable.rate, stable.timestamp, now))
}

export function variableDebtBalance(view: MarketView, position: AccountPosition, id: number): bigint {
  const scaled = position.scaledDebt[id] ?? 0n
  return scaled === 0n ? 0n : view.rules.rounding.debt(scaled, debtIndexOf(view, id) ?? RAY)
}

export function collateralBalance(view: MarketView, position: AccountPosition, id: number): bigint {
  const scaled = position.scaledCollateral[id] ?? 0n
  return scaled === 0n ? 0n : view.rules.rounding.collateral(scaled, incomeOf(view, id) ?? RAY)
}

/** The reserve's debt the Pool liquidates: variable plus (v3.0) stable. */
export function reserveDebtBalance(view: MarketView, position: AccountPosition, id: number): bigint {
  const variable = variableDebtBalance(view, position, id)
  return view.rules.stableDebt ? variable + stableDebtBalance(position, id, view.timestamp) : variable
}

/** Pool.getUserAccountData: GenericLogic.calculateUserAccountData plus available borrows. */
export function userAccountData(view: MarketView, position: AccountPosition): AccountData {
  if (position.config === 0n) return EMPTY_ACCOUNT
  const rules = view.rules
  const rounding = rules.rounding
  const eMode = position.eMode !== 0 ? view.eModes.get(position.eMode) : undefined
  // v3.0: the category's price source prices every member reserve, collateral and debt alike.
  const sourcePrice = eMode?.sourcePrice ?? 0n
  let totalCollateral = 0n
  let totalDebt = 0n
  let weightedLtv = 0n
  let weightedLt = 0n
  // Walk the configuration two bits at a time (borrowing, collateral) and stop at its highest bit;
  // in number arithmetic while the bitmap is an exact float (up to 26 reserves: no bigint per step).
  const small = position.config < 2n ** 52n
  let bitsLeft = small ? Number(position.config) : 0
  let config = small ? 0n : position.config
  for (let id = 0; bitsLeft !== 0 || config !== 0n; id++) {
    let bits: number
    if (small) {
      bits = bitsLeft % 4
      bitsLeft = (bitsLeft - bits) / 4
    } else {
      bits = Number(config & 3n)
      config >>= 2n
    }
    if (bits === 0) continue
    const reserve = view.reserves[id]
    if (!reserve) continue
    const unit = view.unit[id] as bigint
    const inCategory = eMode !== undefined && inBitmap(eMode.collateralBitmap, id)
    const price = sourcePrice !== 0n && inCategory ? sourcePrice : (view.price[id] as bigint)
    if (bits >= 2 && (reserve.liquidationThreshold !== 0n || !rules.collateralNeedsThreshold)) {
      const value = (collateralBalance(view, position, id) * price) / unit
      totalCollateral += value
      weightedLtv += value * reserveLtv(rules, reserve, eMode, inCategory, id)
      weightedLt += value * (inCategory ? eMode.liquidationThreshold : reserve.liquidationThreshold)
    }
    if ((bits & 1) === 1) totalDebt += rounding.debtValue(reserveDebtBalance(view, position, id), price, unit)
  }
  const avgLtv = totalCollateral !== 0n ? weightedLtv / totalCollateral : 0n
  const avgLt = totalCollateral !== 0n ? weightedLt / totalCollateral : 0n
  const healthFactor =
    totalDebt === 0n ? MAX_UINT256 : rounding.healthFactor(totalCollateral, weightedLt, totalDebt)
  const power = rounding.borrowingPower(totalCollateral, avgLtv)
  return {
    totalCollateralBase: totalCollateral,
    totalDebtBase: totalDebt,
    availableBorrowsBase: power <= totalDebt ? 0n : power - totalDebt,
    currentLiquidationThreshold: avgLt,
    ltv: avgLtv,
    healthFactor,
  }
}

/**
 * The LTV a collateral counts with. v3.0: the category's LTV for its members, but a reserve LTV of 0
 * stays 0. v3.2+ (ValidationLogic.getUserReserveLtv): the category's LTV for its collateral
 * bitmap, 0 where its LTV-zero bitmap is set, whatever the reserve's own LTV.
 */
function reserveLtv(
  rules: AaveRules,
  reserve: ReserveState,
  eMode: ViewEMode | undefined,
  inCategory: boolean,
  id: number,
): bigint {
  if (!inCategory || !eMode) return reserve.ltv
  if (rules.eModeBitmaps) return inBitmap(eMode.ltvzeroBitmap, id) ? 0n : eMode.ltv
  return reserve.ltv === 0n ? 0n : eMode.ltv
}

export interface LiquidationQuote {
  collateralAsset: `0x${string}`
  debtAsset: `0x${string}`
  /** The two reserves' ids (no lookup by address where the quote is used). */
  collateralId: number
  debtId: number
  /** Debt the liquidator repays, in debt asset units (what LiquidationCall reports as debtToCover). */
  debtToCover: bigint
  /**
   * The `debtToCover` argument to send: the exact amount, or type(uint256).max where the Pool's own
   * maximum is wanted (v3.3: the only way to take all collateral without a dust revert).
   */
  callDebtToCover: bigint
  /** Collateral the liquidator receives, fee excluded (LiquidationCall's liquidatedCollateralAmount). */
  collateralReceived: bigint
  protocolFee: bigint
  /** Value of what is received minus value of what is repaid, at oracle prices, base currency. */
  bonusBase: bigint
  debtValueBase: bigint
  collateralValueBase: bigint
  /** v3.0 close factor in bps; v3.3: 10000 when the whole reserve debt may be taken, else 5000. */
  closeFactorBps: bigint
  /**
   * v3.3: the call takes the account's last collateral, so the rest of this reserve's debt is
   * burned as deficit (`deficit`, the DeficitCreated amount) and so are its other debts.
   */
  createsDeficit: boolean
  deficit: bigint
  /** v3.3: the amount was reduced below the maximum so that the call leaves no dust. */
  dustLimited: boolean
}

/** What a liquidation quote needs from the account's data. */
export type AccountTotals = Pick<AccountData, 'healthFactor' | 'totalCollateralBase' | 'totalDebtBase'>

/**
 * LiquidationLogic.executeLiquidationCall's outcome for one (collateral, debt) pair when called with
 * `requestedDebt` (type(uint256).max = the Pool's maximum); undefined where the Pool would revert or
 * the call would move nothing.
 */
export function quoteLiquidation(
  view: MarketView,
  position: AccountPosition,
  account: AccountTotals,
  collateralId: number,
  debtId: number,
  requestedDebt: bigint = MAX_UINT256,
): LiquidationQuote | undefined {
  const sized = sizeLiquidation(view, position, account, collateralId, debtId, requestedDebt)
  return sized && !sized.leavesDust ? sized.quote : undefined
}

function pairPrices(view: MarketView, position: AccountPosition, collateralId: number, debtId: number) {
  const eMode = position.eMode !== 0 ? view.eModes.get(position.eMode) : undefined
  const collateralInCategory = eMode !== undefined && inBitmap(eMode.collateralBitmap, collateralId)
  const collateral = view.reserves[collateralId] as ReserveState
  const bonus = collateralInCategory ? eMode.liquidationBonus : collateral.liquidationBonus
  let collateralPrice = view.price[collateralId] ?? 0n
  let debtPrice = view.price[debtId] ?? 0n
  // v3.0 _getConfigurationData: the category's price source for the collateral in the category,
  // and for the debt whenever the category has a source.
  if (eMode && eMode.sourcePrice !== 0n) {
    if (collateralInCategory) collateralPrice = eMode.sourcePrice
    debtPrice = eMode.sourcePrice
  }
  return { bonus, collateralPrice, debtPrice }
}

/** _calculateAvailableCollateralToLiquidate: collateral for `debt`, capped at the balance. */
function availableCollateral(
  view: MarketView,
  collateral: ReserveState,
  debt: bigint,
  balance: bigint,
  prices: { bonus: bigint; collateralPrice: bigint; debtPrice: bigint },
  collateralUnit: bigint,
  debtUnit: bigint,
) {
  const { bonus, collateralPrice, debtPrice } = prices
  const baseCollateral = (debtPrice * debt * collateralUnit) / (collateralPrice * debtUnit)
  const maxCollateral = percentMul(baseCollateral, bonus)
  let collateralAmount: bigint
  let debtNeeded: bigint
  if (maxCollateral > balance) {
    collateralAmount = balance
    const value = (collateralPrice * collateralAmount * debtUnit) / (debtPrice * collateralUnit)
    debtNeeded = view.rules.rounding.debtForCollateral(value, bonus)
  } else {
    collateralAmount = maxCollateral
    debtNeeded = debt
  }
  let protocolFee = 0n
  if (collateral.liquidationProtocolFee !== 0n) {
    const bonusCollateral = collateralAmount - percentDiv(collateralAmount, bonus)
    protocolFee = percentMul(bonusCollateral, collateral.liquidationProtocolFee)
  }
  return { collateralAmount, debtNeeded, protocolFee, capped: maxCollateral > balance }
}

function finishQuote(
  view: MarketView,
  collateral: ReserveState,
  debtReserve: ReserveState,
  amounts: { collateralReceived: bigint; debtNeeded: bigint; protocolFee: bigint },
  extra: Pick<
    LiquidationQuote,
    'callDebtToCover' | 'closeFactorBps' | 'createsDeficit' | 'deficit' | 'dustLimited'
  >,
): LiquidationQuote | undefined {
  const { collateralReceived, debtNeeded, protocolFee } = amounts
  if (debtNeeded === 0n || collateralReceived === 0n) return undefined
  // Value at each asset's own oracle price: that is what the received tokens are worth.
  const collateralValueBase = mulDivDown(
    collateralReceived,
    view.price[collateral.id] ?? 0n,
    view.unit[collateral.id] as bigint,
  )
  const debtValueBase = mulDivDown(
    debtNeeded,
    view.price[debtReserve.id] ?? 0n,
    view.unit[debtReserve.id] as bigint,
  )
  // Every field named (no spread of `extra`): a tick makes thousands of quotes, and a spread
  // builds each one the slow way.
  return {
    collateralAsset: collateral.asset,
    debtAsset: debtReserve.asset,
    collateralId: collateral.id,
    debtId: debtReserve.id,
    debtToCover: debtNeeded,
    callDebtToCover: extra.callDebtToCover,
    collateralReceived,
    protocolFee,
    bonusBase: collateralValueBase - debtValueBase,
    debtValueBase,
    collateralValueBase,
    closeFactorBps: extra.closeFactorBps,
    createsDeficit: extra.createsDeficit,
    deficit: extra.deficit,
    dustLimited: extra.dustLimited,
  }
}

/** A call's outcome: what it moves, and whether the Pool would refuse it for leaving dust (v3.3). */
export interface SizedLiquidation {
  quote: LiquidationQuote | undefined
  leavesDust: boolean
}

/**
 * The outcome of liquidationCall(collateral, debt, user, requestedDebt): undefined where the Pool
 * refuses for any reason other than dust (healthy account, paused reserve, grace period, no debt).
 */
export function sizeLiquidation(
  view: MarketView,
  position: AccountPosition,
  account: AccountTotals,
  collateralId: number,
  debtId: number,
  requestedDebt: bigint = MAX_UINT256,
): SizedLiquidation | undefined {
  return view.rules.liquidation === 'v3.3'
    ? sizeLiquidationV3_3(view, position, account, collateralId, debtId, requestedDebt)
    : quoteLiquidationV3_0(view, position, account.healthFactor, collateralId, debtId, requestedDebt)
}

type Sized = SizedLiquidation

/** v3.0.2 LiquidationLogic: close factor on the reserve's variable + stable debt, no dust rule. */
function quoteLiquidationV3_0(
  view: MarketView,
  position: AccountPosition,
  healthFactor: bigint,
  collateralId: number,
  debtId: number,
  requestedDebt: bigint,
): Sized | undefined {
  const collateral = view.reserves[collateralId]
  const debtReserve = view.reserves[debtId]
  if (!collateral || !debtReserve) return undefined
  if (!liquidationAllowed(view, collateral, debtReserve, healthFactor)) return undefined
  if (collateral.liquidationThreshold === 0n || !isUsingAsCollateral(position, collateralId)) return undefined
  const userTotalDebt = reserveDebtBalance(view, position, debtId)
  if (userTotalDebt === 0n) return undefined
  const closeFactorBps = closeFactorBpsV3_0(healthFactor)
  const maxDebt = percentMul(userTotalDebt, closeFactorBps)
  const debtToLiquidate = requestedDebt > maxDebt ? maxDebt : requestedDebt
  const prices = pairPrices(view, position, collateralId, debtId)
  if (prices.collateralPrice === 0n || prices.debtPrice === 0n) return undefined
  const balance = collateralBalance(view, position, collateralId)
  const unitC = view.unit[collateralId] as bigint
  const unitD = view.unit[debtId] as bigint
  const a = availableCollateral(view, collateral, debtToLiquidate, balance, prices, unitC, unitD)
  const quote = finishQuote(
    view,
    collateral,
    debtReserve,
    {
      collateralReceived: a.collateralAmount - a.protocolFee,
      debtNeeded: a.debtNeeded,
      protocolFee: a.protocolFee,
    },
    { callDebtToCover: a.debtNeeded, closeFactorBps, createsDeficit: false, deficit: 0n, dustLimited: false },
  )
  return { quote, leavesDust: false }
}

function liquidationAllowed(
  view: MarketView,
  collateral: ReserveState,
  debt: ReserveState,
  healthFactor: bigint,
) {
  if (healthFactor >= view.rules.liquidationThresholdHf) return false
  if (!collateral.active || !debt.active || collateral.paused || debt.paused) return false
  if (
    view.rules.gracePeriods &&
    (inGracePeriodV3_1(collateral, view.timestamp) || inGracePeriodV3_1(debt, view.timestamp))
  )
    return false
  return true
}

/**
 * v3.3+ LiquidationLogic (with v3.5 rounding): the whole reserve debt unless the 2000-base
 * thresholds apply, the dust rule, and deficit when the last collateral goes.
 */
function sizeLiquidationV3_3(
  view: MarketView,
  position: AccountPosition,
  account: AccountTotals,
  collateralId: number,
  debtId: number,
  requestedDebt: bigint,
): Sized | undefined {
  const collateral = view.reserves[collateralId]
  const debtReserve = view.reserves[debtId]
  if (!collateral || !debtReserve) return undefined
  if (!liquidationAllowed(view, collateral, debtReserve, account.healthFactor)) return undefined
  if (!isUsingAsCollateral(position, collateralId)) return undefined
  const reserveDebt = variableDebtBalance(view, position, debtId)
  if (reserveDebt === 0n) return undefined
  const prices = pairPrices(view, position, collateralId, debtId)
  if (prices.collateralPrice === 0n || prices.debtPrice === 0n) return undefined
  const unitC = view.unit[collateralId] as bigint
  const unitD = view.unit[debtId] as bigint
  const balance = collateralBalance(view, position, collateralId)
  const maxDebt = maxLiquidatableDebtV3_3({
    reserveDebt,
    reserveDebtBase: mulDivCeil(reserveDebt, prices.debtPrice, unitD),
    reserveCollateralBase: (balance * prices.collateralPrice) / unitC,
    totalDebtBase: account.totalDebtBase,
    healthFactor: account.healthFactor,
    debtPrice: prices.debtPrice,
    debtUnit: unitD,
  })
  const debtToLiquidate = requestedDebt > maxDebt ? maxDebt : requestedDebt
  const a = availableCollateral(view, collateral, debtToLiquidate, balance, prices, unitC, unitD)
  const leavesDust = leavesDustV3_3({
    reserveDebt,
    debtRepaid: a.debtNeeded,
    collateralBalance: balance,
    collateralSeized: a.collateralAmount,
    debtPrice: prices.debtPrice,
    debtUnit: unitD,
    collateralPrice: prices.collateralPrice,
    collateralUnit: unitC,
  })
  // LiquidationLogic: hasNoCollateralLeft compares the seized value with the account's total.
  const seizedBase = (a.collateralAmount * prices.collateralPrice) / unitC
  const createsDeficit = seizedBase === account.totalCollateralBase
  const quote = finishQuote(
    view,
    collateral,
    debtReserve,
    {
      collateralReceived: a.collateralAmount - a.protocolFee,
      debtNeeded: a.debtNeeded,
      protocolFee: a.protocolFee,
    },
    {
      callDebtToCover: requestedDebt,
      closeFactorBps: maxDebt === reserveDebt ? 10_000n : 5_000n,
      createsDeficit,
      deficit: createsDeficit ? reserveDebt - a.debtNeeded : 0n,
      dustLimited: false,
    },
  )
  return { quote, leavesDust }
}

/**
 * v3.3: the largest call for a pair that the dust rule lets through. The Pool's maximum first; if
 * that would leave dust, the largest smaller amount that leaves at least MIN_LEFTOVER_BASE of both
 * (what remains shrinks as the amount grows, so whether an amount fits is monotone in it).
 *
 * The search starts at where the two leftovers reach the floor, solved from the pair's balances and
 * prices (`dustFreeGuess`), and gallops from there to the boundary, then bisects: a handful of
 * exact sizings where bisecting the whole range took ~80 (a wei-denominated debt has 70-80 bits).
 * Only the exact sizing decides; a poor guess costs steps, never a different answer.
 */
function bestQuoteV3_3(
  view: MarketView,
  position: AccountPosition,
  account: AccountTotals,
  collateralId: number,
  debtId: number,
): LiquidationQuote | undefined {
  const max = sizeLiquidationV3_3(view, position, account, collateralId, debtId, MAX_UINT256)
  if (!max?.quote) return undefined
  if (!max.leavesDust) return max.quote
  const fits = (amount: bigint): LiquidationQuote | undefined => {
    const sized = sizeLiquidationV3_3(view, position, account, collateralId, debtId, amount)
    return sized && !sized.leavesDust ? sized.quote : undefined
  }
  const best = largestFitting(
    fits,
    max.quote.debtToCover,
    dustFreeGuess(view, position, collateralId, debtId),
  )
  return best ? { ...best, dustLimited: true } : undefined
}

/**
 * The largest amount in [1, high] that `fits` (monotone: every smaller amount fits too), and its
 * result; undefined when none does. Gallops from `guess` to the boundary, then bisects.
 */
export function largestFitting<T>(
  fits: (amount: bigint) => T | undefined,
  high: bigint,
  guess: bigint,
): T | undefined {
  if (high < 1n) return undefined
  const start = guess < 1n ? 1n : guess > high ? high : guess
  /** The largest amount known to fit (0: none known) and the smallest known not to (high + 1: none). */
  let fit = 0n
  let fitResult: T | undefined
  let misfit = high + 1n
  const atStart = fits(start)
  if (atStart !== undefined) {
    fit = start
    fitResult = atStart
    for (let step = 1n; fit + step <= high; step *= 2n) {
      const result = fits(fit + step)
      if (result === undefined) {
        misfit = fit + step
        break
      }
      fit += step
      fitResult = result
    }
  } else {
    misfit = start
    for (let step = 1n; misfit - step >= 1n; step *= 2n) {
      const result = fits(misfit - step)
      if (result !== undefined) {
        fit = misfit - step
        fitResult = result
        break
      }
      misfit -= step
    }
  }
  while (misfit - fit > 1n) {
    const mid = (fit + misfit) / 2n
    const result = fits(mid)
    if (result !== undefined) {
      fit = mid
      fitResult = result
    } else misfit = mid
  }
  return fit === 0n ? undefined : fitResult
}

/**
 * Where a call's leftovers reach the v3.3 floor, for the search to start at: the largest debt repaid
 * that leaves MIN_LEFTOVER_BASE of debt, or that seizes (with the bonus) no more than leaves that
 * much collateral, whichever is smaller — each solved through the same roundings `availableCollateral`
 * and `leavesDustV3_3` apply (uncapped path), so the search usually confirms it in two sizings.
 * Still only a guess: caps and the other path are settled by the search.
 */
function dustFreeGuess(
  view: MarketView,
  position: AccountPosition,
  collateralId: number,
  debtId: number,
): bigint {
  const prices = pairPrices(view, position, collateralId, debtId)
  const { collateralPrice: pC, debtPrice: pD, bonus } = prices
  if (pC === 0n || pD === 0n || bonus === 0n) return 1n
  const unitC = view.unit[collateralId] as bigint
  const unitD = view.unit[debtId] as bigint
  const reserveDebt = variableDebtBalance(view, position, debtId)
  const balance = collateralBalance(view, position, collateralId)
  // ceil(left·pD/unitD) ≥ MIN  ⟺  left ≥ floor((MIN − 1)·unitD/pD) + 1.
  const byDebt = reserveDebt - ((MIN_LEFTOVER_BASE_V3_3 - 1n) * unitD) / pD - 1n
  // floor(left·pC/unitC) ≥ MIN  ⟺  seized ≤ balance − ceil(MIN·unitC/pC).
  const seizable = balance - (MIN_LEFTOVER_BASE_V3_3 * unitC + pC - 1n) / pC
  if (seizable < 0n) return byDebt
  // seized = percentMul(base, bonus) (half up) ≤ seizable  ⟺  base ≤ ((seizable + 1)·10⁴ − 5001) / bonus,
  // base = floor(repaid·pD·unitC / (pC·unitD)) ≤ that  ⟺  repaid < (that + 1)·pC·unitD / (pD·unitC).
  const base = ((seizable + 1n) * 10_000n - 5_001n) / bonus
  const byCollateral = ((base + 1n) * pC * unitD + pD * unitC - 1n) / (pD * unitC) - 1n
  return byDebt < byCollateral ? byDebt : byCollateral
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
      const quote =
        view.rules.liquidation === 'v3.3'
          ? bestQuoteV3_3(view, position, account, c, d)
          : quoteLiquidation(view, position, account, c, d)
      if (quote) quotes.push(quote)
    }
  }
  return quotes.sort((a, b) => (a.bonusBase > b.bonusBase ? -1 : a.bonusBase < b.bonusBase ? 1 : 0))
}

/**
 * The best pair's quote: `liquidationQuotes(...)[0]` (the same pair; equal bonuses go to the first in
 * reserve order), without sizing the pairs that cannot beat it. A pair's bonus is at most its bonus
 * share of what the call can move: min(debt value × (LB − 1), collateral value × (LB − 1) / LB), plus
 * the roundings (a few units of either token's value). Pairs are sized exactly in the order of that
 * bound, and the first bound below the best exact bonus found ends the search. The bound, a float
 * with a margin, only orders and skips; the quote returned is the exact one. Where a v3.0 category's
 * price source prices the pair (amounts sized at one price, valued at another), every pair is sized.
 */
export function bestLiquidationQuote(
  view: MarketView,
  position: AccountPosition,
  data?: AccountData,
): LiquidationQuote | undefined {
  const account = data ?? userAccountData(view, position)
  if (account.healthFactor >= view.rules.liquidationThresholdHf) return undefined
  const eMode = position.eMode !== 0 ? view.eModes.get(position.eMode) : undefined
  if (eMode && eMode.sourcePrice !== 0n) return liquidationQuotes(view, position, account)[0]
  const count = view.reserves.length
  const sizePair = (c: number, d: number) =>
    view.rules.liquidation === 'v3.3'
      ? bestQuoteV3_3(view, position, account, c, d)
      : quoteLiquidation(view, position, account, c, d)
  // The bits in number arithmetic while they fit (up to 26 reserves): no bigint per test.
  const small = position.config < 2n ** 52n ? Number(position.config) : -1
  const borrowing = (id: number) =>
    small >= 0 ? Math.floor(small / 4 ** id) % 2 === 1 : isBorrowing(position, id)
  const collateralUsed = (id: number) =>
    (small >= 0 ? Math.floor(small / 4 ** id / 2) % 2 === 1 : isUsingAsCollateral(position, id)) &&
    (position.scaledCollateral[id] ?? 0n) !== 0n
  // One collateral and one debt (a common portfolio): the only pair, nothing to order or bound.
  let collaterals = 0
  let debtCount = 0
  let onlyCollateral = 0
  let onlyDebt = 0
  for (let id = 0; id < count; id++) {
    if (collateralUsed(id) && view.reserves[id]) {
      collaterals++
      onlyCollateral = id
    }
    if (borrowing(id)) {
      debtCount++
      onlyDebt = id
    }
  }
  if (collaterals === 0 || debtCount === 0) return undefined
  if (collaterals === 1 && debtCount === 1) return sizePair(onlyCollateral, onlyDebt)
  const debts: number[] = []
  const debtValues: number[] = []
  const debtUnits: number[] = []
  for (let d = 0; d < count; d++) {
    if (!borrowing(d)) continue
    const price = Number(view.price[d] ?? 0n)
    const unit = Number(view.unit[d] as bigint)
    debts.push(d)
    debtValues.push((Number(reserveDebtBalance(view, position, d)) * price) / unit)
    debtUnits.push(price / unit)
  }
  const pairs: { c: number; d: number; order: number; bound: number }[] = []
  for (let c = 0; c < count; c++) {
    if (!collateralUsed(c)) continue
    const reserve = view.reserves[c]
    if (!reserve) continue
    const price = Number(view.price[c] ?? 0n)
    const unit = Number(view.unit[c] as bigint)
    const value = (Number(collateralBalance(view, position, c)) * price) / unit
    const inCategory = eMode !== undefined && inBitmap(eMode.collateralBitmap, c)
    const bonus = Number(inCategory ? eMode.liquidationBonus : reserve.liquidationBonus)
    const share = Math.max(0, bonus - 10_000)
    debts.forEach((d, i) => {
      const byDebt = ((debtValues[i] as number) * share) / 10_000
      const byCollateral = bonus > 0 ? (value * share) / bonus : 0
      const slack = 4 * (price / unit) + 4 * (debtUnits[i] as number) + 4
      pairs.push({ c, d, order: c * count + d, bound: Math.min(byDebt, byCollateral) * (1 + 1e-9) + slack })
    })
  }
  pairs.sort((a, b) => b.bound - a.bound || a.order - b.order)
  let best: LiquidationQuote | undefined
  let bestOrder = 0
  for (const { c, d, order, bound } of pairs) {
    if (best && bound < Number(best.bonusBase)) break
    const quote = sizePair(c, d)
    if (!quote) continue
    if (
      !best ||
      quote.bonusBase > best.bonusBase ||
      (quote.bonusBase === best.bonusBase && order < bestOrder)
    ) {
      best = quote
      bestOrder = order
    }
  }
  return best
}
