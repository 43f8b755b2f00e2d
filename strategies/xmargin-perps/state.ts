/** The clearinghouse mirror: configuration, stored prices and every account, rebuilt from logs. */
import type { Address, Hex } from 'viem'
import type { BlockRef } from '../../src/types.js'

export interface CollateralState {
  assetId: number
  token: Address
  symbol: string
  decimals: number
  feedId: Hex
  baseHaircutBps: bigint
  volHaircutFactorBps: bigint
  maxHaircutBps: bigint
  volatilityBps: bigint
}

export interface BandState {
  notionalCap: bigint
  mmrBps: bigint
  imrBps: bigint
  mmAmount: bigint
  imAmount: bigint
}

export interface MarketState {
  marketId: number
  symbol: string
  feedId: Hex
  volMarginFactorBps: bigint
  volatilityBps: bigint
  fundingRatePerSecond: bigint
  fundingIndex: bigint
  lastFundingUpdate: bigint
  maxLiquidationNotional: bigint
  bands: BandState[]
}

export interface PositionState {
  size: bigint
  openNotional: bigint
  entryFundingIndex: bigint
}

export interface AccountState {
  /** assetId → amount (token units). */
  balances: Map<number, bigint>
  settlement: bigint
  /** marketId → open position (closed ones are removed). */
  positions: Map<number, PositionState>
}

export interface PerpsParams {
  maxPriceAge: bigint
  bonusBps: bigint
  bufferBps: bigint
  minAccountMargin: bigint
}

export interface PerpsState {
  clearinghouse: Address
  pyth: Address
  params: PerpsParams
  insuranceFund: bigint
  /** Pyth's fee for one update blob (MockPyth: a constant per blob). */
  updateFeeWei: bigint
  collaterals: CollateralState[]
  markets: MarketState[]
  /** Lowercase feed id → exponent (Pyth's, fixed per feed). */
  expos: Map<string, number>
  /** Lowercase feed id → the price stored in Pyth (WAD) and its publish time. */
  prices: Map<string, { priceWad: bigint; publishTime: bigint }>
  /** Lowercase account → state. */
  accounts: Map<string, AccountState>
  block: BlockRef
}

export const emptyAccount = (): AccountState => ({
  balances: new Map(),
  settlement: 0n,
  positions: new Map(),
})
