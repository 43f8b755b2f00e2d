/**
 * Where Aave versions differ, one place per rule, named after the version that introduced it, and
 * one rule set per supported Pool revision. The math (math.ts) and the log follower (applyLogs.ts)
 * call through the rule set; they never test a version themselves.
 *
 * Supported: v3.0.x (`@aave/core-v3`, POOL_REVISION 1-2) and v3.6 (aave-v3-origin 3.6.0,
 * POOL_REVISION 10). Revisions in between (v3.1-v3.5) carry only part of these changes and are
 * refused rather than guessed: each is a new rule set here once it is verified against a chain.
 *
 * Two v3.6 changes need no rule here because the mirror follows the Pool's events rather than
 * re-deriving them: aTokens received by transfer or liquidation are no longer enabled as collateral
 * (the mirror sets the collateral bit only on ReserveUsedAsCollateralEnabled), and bad debt is
 * burned as deficit (the debt token Burn events say so).
 */
import {
  mulDivCeil,
  mulDivDown,
  percentDiv,
  percentDivCeil,
  percentMul,
  percentMulFloor,
  RAY,
  rayDiv,
  rayDivCeil,
  rayMul,
  rayMulCeil,
  rayMulFloor,
  SECONDS_PER_YEAR,
  WAD,
  wadDiv,
} from './fixedPoint.js'
import type { ReserveState } from './state.js'

// ---------------------------------------------------------------------------------------------
// Interest

/** v3.0 MathUtils.calculateCompoundedInterest: three-term binomial with per-second powers. */
export function compoundedInterestV3_0(rate: bigint, lastUpdateTimestamp: bigint, now: bigint): bigint {
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

/** v3.4 MathUtils.calculateCompoundedInterest: x = rate·dt/year, RAY + x + x·(x/2 + x·x/6) in ray. */
export function compoundedInterestV3_4(rate: bigint, lastUpdateTimestamp: bigint, now: bigint): bigint {
  const exp = now - lastUpdateTimestamp
  if (exp <= 0n) return RAY
  const x = (rate * exp) / SECONDS_PER_YEAR
  return RAY + x + rayMul(x, x / 2n + rayMul(x, x / 6n))
}

// ---------------------------------------------------------------------------------------------
// Rounding of balances and base-currency values

export interface BalanceRounding {
  /** aToken balance from a scaled balance and the normalized income. */
  collateral(scaled: bigint, income: bigint): bigint
  /** Variable debt from a scaled balance and the normalized debt. */
  debt(scaled: bigint, debtIndex: bigint): bigint
  /** Base-currency value of a debt amount. */
  debtValue(amount: bigint, price: bigint, unit: bigint): bigint
  /** GenericLogic's health factor from the account's sums. */
  healthFactor(totalCollateral: bigint, weightedThreshold: bigint, totalDebt: bigint): bigint
  /** GenericLogic.calculateAvailableBorrows before subtracting the debt. */
  borrowingPower(totalCollateral: bigint, avgLtv: bigint): bigint
  /** LiquidationLogic: the debt a whole collateral balance covers, `value` divided by the bonus. */
  debtForCollateral(value: bigint, bonus: bigint): bigint
}

/** v3.0: half-up rayMul both ways, debt value floored, HF = wadDiv(percentMul(TC, avgLT), debt). */
export const ROUNDING_V3_0: BalanceRounding = {
  collateral: rayMul,
  debt: rayMul,
  debtValue: mulDivDown,
  healthFactor: (totalCollateral, weightedThreshold, totalDebt) => {
    const avgLt = totalCollateral === 0n ? 0n : weightedThreshold / totalCollateral
    return wadDiv(percentMul(totalCollateral, avgLt), totalDebt)
  },
  borrowingPower: percentMul,
  debtForCollateral: percentDiv,
}

/**
 * v3.5 (TokenMath): collateral rounds down and debt up, in balances and in base value; the health
 * factor is wadDiv(Σ value·threshold, debt) / 100_00, without first averaging the threshold.
 */
export const ROUNDING_V3_5: BalanceRounding = {
  collateral: rayMulFloor,
  debt: rayMulCeil,
  debtValue: mulDivCeil,
  healthFactor: (_totalCollateral, weightedThreshold, totalDebt) =>
    wadDiv(weightedThreshold, totalDebt) / 10_000n,
  borrowingPower: percentMulFloor,
  debtForCollateral: percentDivCeil,
}

// ---------------------------------------------------------------------------------------------
// Token events: from Mint/Burn values to the new scaled balance

/**
 * v3.0 ScaledBalanceTokenBase: Mint's `value - balanceIncrease` (Burn's `value + balanceIncrease`) is
 * the amount the Pool passed, and the scaled change is rayDiv(amount, index).
 */
export function scaledAfterEventV3_0(scaled: bigint, signedAmount: bigint, index: bigint): bigint {
  if (signedAmount === 0n) return scaled
  return signedAmount > 0n ? scaled + rayDiv(signedAmount, index) : scaled - rayDiv(-signedAmount, index)
}

/**
 * v3.5 ScaledBalanceTokenBase: the events carry balance differences, `value - balanceIncrease` =
 * balance(scaled') - balance(scaled) at `index`, with the token's own rounding (floor for aTokens,
 * ceil for debt). Balance is strictly increasing in the scaled amount (index ≥ 1 ray), so scaled'
 * is the one value whose balance is balance(scaled) + delta: the smallest x with balance(x) ≥ it.
 */
export function scaledAfterEventV3_5(
  scaled: bigint,
  signedAmount: bigint,
  index: bigint,
  kind: 'aToken' | 'variableDebt',
): bigint {
  if (signedAmount === 0n) return scaled
  const target = (kind === 'aToken' ? rayMulFloor(scaled, index) : rayMulCeil(scaled, index)) + signedAmount
  if (target <= 0n) return 0n
  // floor(x·i/R) ≥ t ⇔ x ≥ t·R/i;  ceil(x·i/R) ≥ t ⇔ x·i/R > t-1 ⇔ x ≥ floor((t-1)·R/i) + 1.
  return kind === 'aToken' ? rayDivCeil(target, index) : ((target - 1n) * RAY) / index + 1n
}

// ---------------------------------------------------------------------------------------------
// Liquidation

/** v3.0 LiquidationLogic: 50% of the debt reserve, 100% at or below HF 0.95. */
export const CLOSE_FACTOR_HF_THRESHOLD = 950_000_000_000_000_000n

export function closeFactorBpsV3_0(healthFactor: bigint): bigint {
  return healthFactor > CLOSE_FACTOR_HF_THRESHOLD ? 5_000n : 10_000n
}

/** v3.3 LiquidationLogic constants (base currency, 8 decimals). */
export const MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_V3_3 = 2000n * 10n ** 8n
export const MIN_LEFTOVER_BASE_V3_3 = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_V3_3 / 2n

/**
 * v3.3: the whole reserve debt may be taken, unless both this reserve's collateral and debt are
 * worth at least 2000 base units and HF > 0.95; then at most half the account's total debt value.
 */
export function maxLiquidatableDebtV3_3(p: {
  reserveDebt: bigint
  reserveDebtBase: bigint
  reserveCollateralBase: bigint
  totalDebtBase: bigint
  healthFactor: bigint
  debtPrice: bigint
  debtUnit: bigint
}): bigint {
  if (
    p.reserveCollateralBase >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_V3_3 &&
    p.reserveDebtBase >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_V3_3 &&
    p.healthFactor > CLOSE_FACTOR_HF_THRESHOLD
  ) {
    const halfTotal = percentMul(p.totalDebtBase, 5_000n)
    if (p.reserveDebtBase > halfTotal) return (halfTotal * p.debtUnit) / p.debtPrice
  }
  return p.reserveDebt
}

/**
 * v3.3 dust rule (MustNotLeaveDust): a call that neither repays the whole reserve debt nor seizes
 * the whole collateral must leave at least MIN_LEFTOVER_BASE of both.
 */
export function leavesDustV3_3(p: {
  reserveDebt: bigint
  debtRepaid: bigint
  collateralBalance: bigint
  collateralSeized: bigint
  debtPrice: bigint
  debtUnit: bigint
  collateralPrice: bigint
  collateralUnit: bigint
}): boolean {
  if (p.debtRepaid >= p.reserveDebt || p.collateralSeized >= p.collateralBalance) return false
  const debtLeft = mulDivCeil(p.reserveDebt - p.debtRepaid, p.debtPrice, p.debtUnit)
  const collateralLeft = ((p.collateralBalance - p.collateralSeized) * p.collateralPrice) / p.collateralUnit
  return debtLeft < MIN_LEFTOVER_BASE_V3_3 || collateralLeft < MIN_LEFTOVER_BASE_V3_3
}

/** v3.1 liquidation grace period: no liquidation while either reserve's grace period runs. */
export function inGracePeriodV3_1(reserve: ReserveState, timestamp: bigint): boolean {
  return (reserve.liquidationGracePeriodUntil ?? 0n) >= timestamp
}

// ---------------------------------------------------------------------------------------------
// Rule sets

export interface AaveRules {
  /** The version label reported to users. */
  version: '3.0' | '3.6'
  /** Pool.POOL_REVISION() values this rule set applies to. */
  poolRevisions: readonly bigint[]
  liquidationThresholdHf: bigint
  compoundedInterest(rate: bigint, lastUpdateTimestamp: bigint, now: bigint): bigint
  rounding: BalanceRounding
  /** v3.2: eMode LTV/threshold/bonus from the category's bitmaps; no eMode price source. */
  eModeBitmaps: boolean
  /** v3.0 skips collateral with a zero liquidation threshold; v3.5 counts every collateral bit. */
  collateralNeedsThreshold: boolean
  /** Which liquidation sizing applies: v3.0 close factor, or v3.3 thresholds + dust rule + deficit. */
  liquidation: 'v3.0' | 'v3.3'
  /** v3.1 grace periods are enforced. */
  gracePeriods: boolean
  /** v3.2 dropped stable-rate debt. */
  stableDebt: boolean
  /** New scaled balance after a Mint/Burn of `signedAmount` = value ∓ balanceIncrease. */
  scaledAfterEvent(
    scaled: bigint,
    signedAmount: bigint,
    index: bigint,
    kind: 'aToken' | 'variableDebt',
  ): bigint
  /**
   * When a debt Burn clears the borrowing bit: v3.0 when the debt computed by the Pool reaches 0,
   * v3.1+ when the scaled balance reaches 0 (the burn returns noMoreDebt).
   */
  borrowingClearedWhen: 'debt-zero' | 'scaled-zero'
  /**
   * v3.6 LiquidationLogic runs the collateral reserve's updateState up front; with receiveAToken
   * no ReserveDataUpdated follows for it, so the mirror must advance its indexes itself (v3.0
   * only touches the collateral reserve when it burns the aTokens, and then emits).
   */
  liquidationUpdatesCollateralState: boolean
}

export const RULES_V3_0: AaveRules = {
  version: '3.0',
  poolRevisions: [1n, 2n],
  liquidationThresholdHf: WAD,
  compoundedInterest: compoundedInterestV3_0,
  rounding: ROUNDING_V3_0,
  eModeBitmaps: false,
  collateralNeedsThreshold: true,
  liquidation: 'v3.0',
  gracePeriods: false,
  stableDebt: true,
  scaledAfterEvent: (scaled, signedAmount, index) => scaledAfterEventV3_0(scaled, signedAmount, index),
  borrowingClearedWhen: 'debt-zero',
  liquidationUpdatesCollateralState: false,
}

export const RULES_V3_6: AaveRules = {
  version: '3.6',
  poolRevisions: [10n],
  liquidationThresholdHf: WAD,
  compoundedInterest: compoundedInterestV3_4,
  rounding: ROUNDING_V3_5,
  eModeBitmaps: true,
  collateralNeedsThreshold: false,
  liquidation: 'v3.3',
  gracePeriods: true,
  stableDebt: false,
  scaledAfterEvent: scaledAfterEventV3_5,
  borrowingClearedWhen: 'scaled-zero',
  liquidationUpdatesCollateralState: true,
}

export const KNOWN_RULES: readonly AaveRules[] = [RULES_V3_0, RULES_V3_6]

export function rulesForRevision(revision: bigint): AaveRules | undefined {
  return KNOWN_RULES.find((rules) => rules.poolRevisions.includes(revision))
}

export function describeKnownRevisions(): string {
  return KNOWN_RULES.map((r) => `v${r.version} (revision ${r.poolRevisions.join(', ')})`).join(', ')
}
