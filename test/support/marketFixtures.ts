/** Hand-built markets and positions for the pure math tests. */
import { RAY } from '../../strategies/aave-v3/fixedPoint.js'
import type { AccountPosition, MarketState, ReserveState } from '../../strategies/aave-v3/state.js'

/** Account totals with only a health factor: all a v3.0 quote reads. */
export const hf = (healthFactor: bigint) => ({ healthFactor, totalCollateralBase: 0n, totalDebtBase: 0n })

export const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as `0x${string}`

export function reserve(id: number, over: Partial<ReserveState> = {}): ReserveState {
  return {
    asset: addr(id + 1),
    symbol: `R${id}`,
    id,
    decimals: 18,
    ltv: 8000n,
    liquidationThreshold: 8500n,
    liquidationBonus: 10500n,
    liquidationProtocolFee: 1000n,
    reserveFactor: 1000n,
    eModeCategory: 0,
    active: true,
    frozen: false,
    paused: false,
    borrowingEnabled: true,
    stableBorrowingEnabled: false,
    borrowableInIsolation: false,
    debtCeiling: 0n,
    liquidityIndex: RAY,
    variableBorrowIndex: RAY,
    liquidityRate: 0n,
    variableBorrowRate: 0n,
    stableBorrowRate: 0n,
    lastUpdateTimestamp: 1000n,
    liquidationGracePeriodUntil: 0n,
    aToken: addr(100 + id),
    variableDebtToken: addr(200 + id),
    stableDebtToken: addr(300 + id),
    ...over,
  }
}

export function market(reserves: ReserveState[], prices: bigint[], poolRevision = 1n): MarketState {
  return {
    pool: addr(9),
    addressesProvider: addr(8),
    oracle: addr(7),
    configurator: addr(6),
    poolRevision,
    reserves: new Map(reserves.map((r) => [r.asset.toLowerCase(), r])),
    tokens: new Map(),
    eModes: new Map(),
    prices: new Map(reserves.map((r, i) => [r.asset.toLowerCase(), prices[i] ?? 0n])),
    sources: new Map(),
    adapters: new Map(),
    accounts: new Map(),
    block: { number: 1n, hash: '0x00', timestamp: 1000n },
  }
}

export const pos = (over: Partial<AccountPosition>): AccountPosition => ({
  config: 0n,
  eMode: 0,
  scaledCollateral: [],
  scaledDebt: [],
  ...over,
})
export const collateralBit = (id: number) => 1n << BigInt(id * 2 + 1)
export const borrowBit = (id: number) => 1n << BigInt(id * 2)
