/** A synthetic Aave market with N accounts (seeded), for benchmarks that need no chain. */

import { createRandom } from '../src/devnet/random.js'
import { DEVNET_EMODES, DEVNET_RESERVES } from '../strategies/aave-v3/devnet/marketSpec.js'
import { RAY } from '../strategies/aave-v3/fixedPoint.js'
import { createMarketView, userAccountData } from '../strategies/aave-v3/math.js'
import type { AccountPosition, MarketState, ReserveState } from '../strategies/aave-v3/state.js'

const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as `0x${string}`

/**
 * `healthy`: debts rescaled so health factors follow a live market's shape (about 1% below 1, 4%
 * within 1–1.05, the rest spread to 4) instead of the raw random portfolios (a third underwater).
 */
export function syntheticMarket(
  accounts: number,
  seed = 1,
  options: { healthy?: boolean } = {},
): MarketState {
  const random = createRandom(seed)
  const reserves = new Map<string, ReserveState>()
  const prices = new Map<string, bigint>()
  DEVNET_RESERVES.forEach((spec, id) => {
    const asset = addr(0x1000 + id)
    reserves.set(asset, {
      asset,
      symbol: spec.symbol,
      id,
      decimals: spec.decimals,
      ltv: BigInt(spec.ltvBps),
      liquidationThreshold: BigInt(spec.liquidationThresholdBps),
      liquidationBonus: BigInt(spec.liquidationBonusBps),
      liquidationProtocolFee: BigInt(spec.liquidationProtocolFeeBps),
      reserveFactor: BigInt(spec.reserveFactorBps),
      eModeCategory: spec.eModeCategory,
      active: true,
      frozen: false,
      paused: false,
      borrowingEnabled: spec.borrowingEnabled,
      stableBorrowingEnabled: false,
      borrowableInIsolation: spec.borrowableInIsolation,
      debtCeiling: spec.debtCeiling,
      liquidityIndex: RAY + BigInt(id) * 10n ** 24n,
      variableBorrowIndex: RAY + BigInt(id) * 3n * 10n ** 24n,
      liquidityRate: RAY / 50n,
      variableBorrowRate: RAY / 20n,
      stableBorrowRate: 0n,
      lastUpdateTimestamp: 1_700_000_000n,
      liquidationGracePeriodUntil: 0n,
      aToken: addr(0x2000 + id),
      variableDebtToken: addr(0x3000 + id),
      stableDebtToken: addr(0x4000 + id),
    })
    prices.set(asset, BigInt(Math.round(Number(spec.priceUsd) * 1e8)))
  })
  const eModes = new Map(
    DEVNET_EMODES.map((c) => [
      c.id,
      {
        id: c.id,
        ltv: c.ltvBps,
        liquidationThreshold: c.liquidationThresholdBps,
        liquidationBonus: c.liquidationBonusBps,
        priceSource: c.priceSourceSymbol
          ? addr(0x1000 + DEVNET_RESERVES.findIndex((r) => r.symbol === c.priceSourceSymbol))
          : addr(0),
        label: c.label,
      },
    ]),
  )
  const positions = new Map<string, AccountPosition>()
  const n = DEVNET_RESERVES.length
  for (let i = 0; i < accounts; i++) {
    const p: AccountPosition = {
      config: 0n,
      eMode: random() < 0.15 ? 1 + Math.floor(random() * 2) : 0,
      scaledCollateral: [],
      scaledDebt: [],
    }
    const collaterals = 1 + Math.floor(random() * 3)
    for (let k = 0; k < collaterals; k++) {
      const id = Math.floor(random() * n)
      p.config |= 1n << BigInt(id * 2 + 1)
      p.scaledCollateral[id] =
        BigInt(Math.floor(random() * 1e6)) * 10n ** BigInt((DEVNET_RESERVES[id]?.decimals ?? 18) - 3)
    }
    const debts = 1 + Math.floor(random() * 2)
    for (let k = 0; k < debts; k++) {
      const id = Math.floor(random() * n)
      p.config |= 1n << BigInt(id * 2)
      p.scaledDebt[id] =
        BigInt(Math.floor(random() * 3e5)) * 10n ** BigInt((DEVNET_RESERVES[id]?.decimals ?? 18) - 3)
    }
    positions.set(addr(0x100000 + i), p)
  }
  const market: MarketState = {
    pool: addr(1),
    addressesProvider: addr(2),
    oracle: addr(3),
    configurator: addr(4),
    poolRevision: 1n,
    reserves,
    tokens: new Map(),
    eModes,
    prices,
    sources: new Map(),
    adapters: new Map(),
    nativeAsset: addr(0x1000 + DEVNET_RESERVES.findIndex((r) => r.symbol === 'WETH')),
    accounts: positions,
    block: { number: 1n, hash: `0x${'00'.repeat(32)}`, timestamp: 1_700_000_600n },
  }
  if (options.healthy) rescaleDebts(market, random)
  return market
}

function rescaleDebts(market: MarketState, random: () => number) {
  const view = createMarketView(market, market.block.timestamp)
  for (const p of market.accounts.values()) {
    const hf = userAccountData(view, p).healthFactor
    if (hf >= 2n ** 255n || hf === 0n) continue
    const u = random()
    const target = u < 0.01 ? 0.9 + random() * 0.1 : u < 0.05 ? 1 + random() * 0.05 : 1.05 + random() * 2.95
    // debt × (hf / target): health becomes the target (up to rounding).
    const num = BigInt(Math.round((Number(hf) / 1e18) * 1e9))
    const den = BigInt(Math.round(target * 1e9))
    p.scaledDebt = p.scaledDebt.map((d) => (d === undefined ? d : (d * num) / den))
  }
}
