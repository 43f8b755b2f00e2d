/**
 * Version-specific liquidation rules, one object per protocol version, so that a later version
 * (v3.3+: 100% close factor below 2000 base units, dust rule, deficit burning) is a new object here
 * rather than conditionals spread through the math.
 */
import { WAD } from '../../src/math/fixedPoint.js'
import type { ReserveState } from './state.js'

export interface AaveRules {
  /** The version label reported to users (`3.0` for @aave/core-v3 1.19.x). */
  version: string
  /** Pool.POOL_REVISION() values this rule set applies to. */
  poolRevisions: readonly bigint[]
  liquidationThresholdHf: bigint
  closeFactorBps(healthFactor: bigint): bigint
  canLiquidate(collateral: ReserveState, debt: ReserveState, healthFactor: bigint): boolean
}

/** Aave v3.0.2 (LiquidationLogic): 50% close factor, 100% at or below HF 0.95. */
export const RULES_V3_0: AaveRules = {
  version: '3.0',
  poolRevisions: [1n, 2n],
  liquidationThresholdHf: WAD,
  closeFactorBps: (healthFactor) => (healthFactor > 950_000_000_000_000_000n ? 5_000n : 10_000n),
  canLiquidate: (collateral, debt, healthFactor) =>
    healthFactor < WAD && collateral.active && debt.active && !collateral.paused && !debt.paused,
}

export const KNOWN_RULES: readonly AaveRules[] = [RULES_V3_0]

export function rulesForRevision(revision: bigint): AaveRules | undefined {
  return KNOWN_RULES.find((rules) => rules.poolRevisions.includes(revision))
}
