/**
 * The mirror's state: the market (reserves, eMode categories, prices) and every account's position
 * (the user configuration bitmap, scaled balances, stable debt), exactly the storage that
 * getUserAccountData reads. Addresses used as map keys are lowercase; addresses shown are checksummed.
 */
import type { Address, Hex } from 'viem'

export interface ReserveState {
  asset: Address
  symbol: string
  id: number
  decimals: number
  ltv: bigint
  liquidationThreshold: bigint
  liquidationBonus: bigint
  liquidationProtocolFee: bigint
  reserveFactor: bigint
  eModeCategory: number
  active: boolean
  frozen: boolean
  paused: boolean
  borrowingEnabled: boolean
  stableBorrowingEnabled: boolean
  borrowableInIsolation: boolean
  debtCeiling: bigint
  liquidityIndex: bigint
  variableBorrowIndex: bigint
  liquidityRate: bigint
  variableBorrowRate: bigint
  stableBorrowRate: bigint
  lastUpdateTimestamp: bigint
  /** v3.1+: no liquidation involving this reserve until after this timestamp (0 = none). */
  liquidationGracePeriodUntil: bigint
  aToken: Address
  variableDebtToken: Address
  stableDebtToken: Address
}

export interface EModeCategory {
  id: number
  ltv: number
  liquidationThreshold: number
  liquidationBonus: number
  /** v3.0: lowercase address passed to AaveOracle.getAssetPrice, or the zero address (always, v3.2+). */
  priceSource: Address
  label: string
  /**
   * v3.2+: reserve ids (bit i = reserve id i) that count as collateral in the category, and (v3.6)
   * whose LTV is zero in it. Absent on v3.0, where membership is the reserve's own eModeCategory.
   */
  collateralBitmap?: bigint
  ltvzeroBitmap?: bigint
}

export interface StableDebt {
  principal: bigint
  rate: bigint
  timestamp: bigint
}

export interface AccountPosition {
  /** UserConfigurationMap: bit 2*id borrowing, bit 2*id+1 using as collateral. */
  config: bigint
  eMode: number
  /** Scaled aToken balance by reserve id. */
  scaledCollateral: bigint[]
  /** Scaled variable debt by reserve id. */
  scaledDebt: bigint[]
  stable?: Map<number, StableDebt>
}

export type TokenKind = 'aToken' | 'variableDebt' | 'stableDebt'

export interface BlockRef {
  number: bigint
  hash: Hex
  timestamp: bigint
}

import type { AdapterSource } from './priceSources.js'

export interface MarketState {
  pool: Address
  addressesProvider: Address
  oracle: Address
  configurator: Address
  /** Pool.POOL_REVISION(): selects the version rules. */
  poolRevision: bigint
  /** Keyed by lowercase asset address. */
  reserves: Map<string, ReserveState>
  /** Lowercase token address → its reserve and kind. */
  tokens: Map<string, { reserveId: number; asset: string; kind: TokenKind }>
  eModes: Map<number, EModeCategory>
  /** Lowercase asset (or eMode price source) → AaveOracle price in base currency units. */
  prices: Map<string, bigint>
  /** Lowercase source or aggregator address → lowercase assets whose AaveOracle source it is. */
  sources: Map<string, string[]>
  /** Sources that move without an event of their own (price adapters), by lowercase address: re-read each block. */
  adapters: Map<string, AdapterSource>
  /** The chain's wrapped native token (lowercase), when its price is known: gas is valued at it. */
  nativeAsset?: string
  /** Lowercase account address → position. */
  accounts: Map<string, AccountPosition>
  /** The last block whose logs are applied. */
  block: BlockRef
}

export function emptyPosition(): AccountPosition {
  return { config: 0n, eMode: 0, scaledCollateral: [], scaledDebt: [] }
}

const mask = (bits: number) => (1n << BigInt(bits)) - 1n
const field = (data: bigint, start: number, bits: number) => (data >> BigInt(start)) & mask(bits)
const flag = (data: bigint, bit: number) => ((data >> BigInt(bit)) & 1n) === 1n

/** Decodes ReserveConfigurationMap (ReserveConfiguration.sol bit layout, v3.0). */
export function decodeReserveConfiguration(data: bigint) {
  return {
    ltv: field(data, 0, 16),
    liquidationThreshold: field(data, 16, 16),
    liquidationBonus: field(data, 32, 16),
    decimals: Number(field(data, 48, 8)),
    active: flag(data, 56),
    frozen: flag(data, 57),
    borrowingEnabled: flag(data, 58),
    stableBorrowingEnabled: flag(data, 59),
    paused: flag(data, 60),
    borrowableInIsolation: flag(data, 61),
    reserveFactor: field(data, 64, 16),
    liquidationProtocolFee: field(data, 152, 16),
    eModeCategory: Number(field(data, 168, 8)),
    debtCeiling: field(data, 212, 40),
  }
}

export function reserveById(market: MarketState, id: number): ReserveState | undefined {
  for (const reserve of market.reserves.values()) if (reserve.id === id) return reserve
  return undefined
}
