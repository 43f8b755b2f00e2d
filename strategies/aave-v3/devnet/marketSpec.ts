/**
 * The devnet market: six reserves with realistic, distinct risk parameters, two eMode categories (one
 * with its own price source) and one isolated asset. Four reserves are priced by their own settable
 * aggregator, wstETH by an exchange-rate adapter and DAI by a capped adapter. Percentages are Aave's basis points, rates rays.
 */
export interface ReserveSpec {
  symbol: string
  decimals: number
  /** Initial oracle price in USD, 8 decimals, as a decimal string. */
  priceUsd: string
  ltvBps: number
  liquidationThresholdBps: number
  liquidationBonusBps: number
  reserveFactorBps: number
  liquidationProtocolFeeBps: number
  /** Whole tokens; 0 = no cap. */
  supplyCap: number
  borrowCap: number
  borrowingEnabled: boolean
  eModeCategory: number
  /** Isolation mode debt ceiling in USD with 2 decimals; 0 = not isolated. */
  debtCeiling: bigint
  borrowableInIsolation: boolean
  rate: { optimalUsagePct: number; basePct: number; slope1Pct: number; slope2Pct: number }
  /**
   * How the oracle prices it, when not by its own aggregator (as production Aave prices LSTs and
   * stablecoins): an exchange-rate adapter over another reserve's feed, or a capped adapter over its own.
   */
  priceAdapter?:
    | { kind: 'ratio'; baseSymbol: string; rate: string; maxYearlyGrowthBps: number }
    | { kind: 'stable-cap'; capUsd: string }
}

export interface EModeSpec {
  id: number
  ltvBps: number
  liquidationThresholdBps: number
  liquidationBonusBps: number
  /** Symbol of the reserve whose oracle price every asset in the category uses, if any. */
  priceSourceSymbol?: string
  label: string
}

export const DEVNET_RESERVES: readonly ReserveSpec[] = [
  {
    symbol: 'WETH',
    decimals: 18,
    priceUsd: '2000',
    ltvBps: 8000,
    liquidationThresholdBps: 8250,
    liquidationBonusBps: 10500,
    reserveFactorBps: 1500,
    liquidationProtocolFeeBps: 1000,
    supplyCap: 1_000_000,
    borrowCap: 800_000,
    borrowingEnabled: true,
    eModeCategory: 2,
    debtCeiling: 0n,
    borrowableInIsolation: false,
    rate: { optimalUsagePct: 80, basePct: 0, slope1Pct: 3.8, slope2Pct: 80 },
  },
  {
    symbol: 'WBTC',
    decimals: 8,
    priceUsd: '40000',
    ltvBps: 7000,
    liquidationThresholdBps: 7500,
    liquidationBonusBps: 10650,
    reserveFactorBps: 2000,
    liquidationProtocolFeeBps: 1000,
    supplyCap: 50_000,
    borrowCap: 30_000,
    borrowingEnabled: true,
    eModeCategory: 0,
    debtCeiling: 0n,
    borrowableInIsolation: false,
    rate: { optimalUsagePct: 45, basePct: 0, slope1Pct: 4, slope2Pct: 300 },
  },
  {
    symbol: 'USDC',
    decimals: 6,
    priceUsd: '1',
    ltvBps: 7700,
    liquidationThresholdBps: 8000,
    liquidationBonusBps: 10450,
    reserveFactorBps: 1000,
    liquidationProtocolFeeBps: 1000,
    supplyCap: 2_000_000_000,
    borrowCap: 1_500_000_000,
    borrowingEnabled: true,
    eModeCategory: 1,
    debtCeiling: 0n,
    borrowableInIsolation: true,
    rate: { optimalUsagePct: 90, basePct: 0, slope1Pct: 6, slope2Pct: 60 },
  },
  {
    symbol: 'DAI',
    decimals: 18,
    priceUsd: '1',
    ltvBps: 6300,
    liquidationThresholdBps: 7700,
    liquidationBonusBps: 10500,
    reserveFactorBps: 1000,
    liquidationProtocolFeeBps: 2000,
    supplyCap: 2_000_000_000,
    borrowCap: 1_500_000_000,
    borrowingEnabled: true,
    eModeCategory: 1,
    debtCeiling: 0n,
    borrowableInIsolation: true,
    rate: { optimalUsagePct: 80, basePct: 1, slope1Pct: 5, slope2Pct: 75 },
    // As sDAI/USDC/USDT on mainnet: the DAI/USD feed, capped at 1.04.
    priceAdapter: { kind: 'stable-cap', capUsd: '1.04' },
  },
  {
    symbol: 'LINK',
    decimals: 18,
    priceUsd: '15',
    ltvBps: 5300,
    liquidationThresholdBps: 6800,
    liquidationBonusBps: 10700,
    reserveFactorBps: 2000,
    liquidationProtocolFeeBps: 1000,
    supplyCap: 15_000_000,
    borrowCap: 0,
    borrowingEnabled: false,
    eModeCategory: 0,
    // $20M ceiling (2 decimals): LINK is an isolated collateral.
    debtCeiling: 20_000_000_00n,
    borrowableInIsolation: false,
    rate: { optimalUsagePct: 45, basePct: 0, slope1Pct: 7, slope2Pct: 300 },
  },
  {
    symbol: 'wstETH',
    decimals: 18,
    priceUsd: '2300',
    ltvBps: 6900,
    liquidationThresholdBps: 8000,
    liquidationBonusBps: 10600,
    reserveFactorBps: 1500,
    liquidationProtocolFeeBps: 1000,
    supplyCap: 500_000,
    borrowCap: 10_000,
    borrowingEnabled: true,
    eModeCategory: 2,
    debtCeiling: 0n,
    borrowableInIsolation: false,
    rate: { optimalUsagePct: 45, basePct: 0.25, slope1Pct: 4.5, slope2Pct: 80 },
    // As on mainnet: the ETH/USD feed x a silent exchange rate (2000 x 1.15 = 2300), capped.
    priceAdapter: { kind: 'ratio', baseSymbol: 'WETH', rate: '1.15', maxYearlyGrowthBps: 1000 },
  },
]

export const DEVNET_EMODES: readonly EModeSpec[] = [
  { id: 1, ltvBps: 9300, liquidationThresholdBps: 9500, liquidationBonusBps: 10100, label: 'Stablecoins' },
  // Category 2 prices both WETH and wstETH at the WETH oracle price: the eMode price-source path.
  {
    id: 2,
    ltvBps: 9000,
    liquidationThresholdBps: 9300,
    liquidationBonusBps: 10200,
    priceSourceSymbol: 'WETH',
    label: 'ETH correlated',
  },
]
