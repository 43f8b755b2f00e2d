/** Mirror re-evaluation after one price change: full rescan vs. only the exposed accounts. */

import { exposedAccounts } from '../strategies/aave-v3/exposure.js'
import { createMarketView, userAccountData } from '../strategies/aave-v3/math.js'
import { FloatBalances } from '../strategies/aave-v3/prefilter.js'
import type { MarketState } from '../strategies/aave-v3/state.js'
import { record } from './figures.js'
import { syntheticMarket } from './syntheticMarket.js'

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** Every account's health at the market's block; returns how many are underwater. */
function fullRescan(market: MarketState): number {
  const view = createMarketView(market, market.block.timestamp)
  let underwater = 0
  for (const position of market.accounts.values())
    if (userAccountData(view, position).healthFactor < 10n ** 18n) underwater++
  return underwater
}

export function benchMirror(accounts = 100_000, rounds = 7): string[] {
  const market = syntheticMarket(accounts)
  const floats = new FloatBalances(market.reserves.size)
  for (const [key, position] of market.accounts) floats.set(key, position)
  const wbtc = [...market.reserves.entries()].find(([, r]) => r.symbol === 'WBTC')?.[0] as string
  const full: number[] = []
  const incremental: number[] = []
  let exposedCount = 0
  let underwaterFull = 0
  let underwaterIncremental = 0
  for (let round = 0; round < rounds; round++) {
    market.prices.set(wbtc, (market.prices.get(wbtc) ?? 0n) - 10n ** 8n * BigInt(round + 1) * 100n)
    let start = performance.now()
    underwaterFull = fullRescan(market)
    full.push(performance.now() - start)

    start = performance.now()
    const view = createMarketView(market, market.block.timestamp)
    const exposed = exposedAccounts(market, floats, [wbtc])
    exposedCount = exposed.length
    underwaterIncremental = 0
    for (const key of exposed) {
      const position = market.accounts.get(key)
      if (position && userAccountData(view, position).healthFactor < 10n ** 18n) underwaterIncremental++
    }
    incremental.push(performance.now() - start)
  }
  const f = record('mirror_full_100k_ms', median(full))
  const i = record('mirror_exposed_100k_ms', median(incremental))
  // The same accounts under the v3.6 rules (directed rounding, v3.4 compounding).
  const v36 = { ...market, poolRevision: 10n }
  const full36: number[] = []
  let underwater36 = 0
  for (let round = 0; round < rounds; round++) {
    const start = performance.now()
    underwater36 = fullRescan(v36)
    full36.push(performance.now() - start)
  }
  const f36 = median(full36)
  return [
    `mirror: ${accounts} accounts, 6 reserves, WBTC price change (median of ${rounds})`,
    `  full rescan          ${f.toFixed(1)} ms  (${((accounts / f) * 1000).toFixed(0)} accounts/s, ${underwaterFull} underwater)`,
    `  incremental          ${i.toFixed(1)} ms  (${exposedCount} exposed accounts re-evaluated, ${underwaterIncremental} underwater among them)`,
    `  ratio full/incremental  ${(f / i).toFixed(2)}x`,
    `  full rescan, v3.6 rules ${f36.toFixed(1)} ms  (${((accounts / f36) * 1000).toFixed(0)} accounts/s, ${underwater36} underwater; ratio v3.6/v3.0 ${(f36 / f).toFixed(2)}x)`,
  ]
}
