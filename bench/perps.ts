/**
 * Perps: a full re-evaluation of 100k clearinghouse accounts across 3 markets (health of every
 * account and the exact liquidation quote of every liquidatable one), after an ETH price move.
 */

import { createRandom } from '../src/devnet/random.js'
import { PerpsCandidateIndex } from '../strategies/xmargin-perps/candidateIndex.js'
import {
  BANDS,
  COLLATERALS,
  MARKETS,
  MAX_LIQUIDATION_NOTIONAL,
  VOL_MARGIN_FACTOR_BPS,
} from '../strategies/xmargin-perps/devnet/index.js'
import { accountHealth, pricesOf, WAD } from '../strategies/xmargin-perps/math.js'
import { planPerps } from '../strategies/xmargin-perps/plan.js'
import type { AccountState, PerpsState } from '../strategies/xmargin-perps/state.js'
import { pendingTx } from '../test/support/fakes.js'
import { percentile, record } from './figures.js'

const BPS = 10_000n
/** A pending oracle transaction to plan against (its fields do not matter to planning). */
const TX = pendingTx(0, '0x0000000000000000000000000000000000000002')
const FEED_PRICE: Record<string, bigint> = { ETH: 3000n, BTC: 60000n, USDC: 1n, SOL: 150n }
const feed = (s: string) => `0x${Buffer.from(s).toString('hex').padEnd(64, '0')}` as `0x${string}`

export function syntheticPerps(count: number, seed = 7): PerpsState {
  const random = createRandom(seed)
  let mmAmount = 0n
  let imAmount = 0n
  const bands = BANDS.mmrBps.map((mmr, k) => {
    if (k > 0) {
      const edge = BANDS.caps[k - 1] as bigint
      mmAmount += (edge * (mmr - (BANDS.mmrBps[k - 1] as bigint))) / BPS
      imAmount += (edge * ((BANDS.imrBps[k] as bigint) - (BANDS.imrBps[k - 1] as bigint))) / BPS
    }
    return {
      notionalCap: BANDS.caps[k] ?? 2n ** 256n - 1n,
      mmrBps: mmr,
      imrBps: BANDS.imrBps[k] as bigint,
      mmAmount,
      imAmount,
    }
  })
  const state: PerpsState = {
    clearinghouse: '0x00000000000000000000000000000000000000c1',
    pyth: '0x00000000000000000000000000000000000000c2',
    params: { maxPriceAge: 60n, bonusBps: 100n, bufferBps: 500n, minAccountMargin: 10n * WAD },
    insuranceFund: 10n ** 24n,
    updateFeeWei: 10n ** 12n,
    collaterals: COLLATERALS.map((c, assetId) => ({
      assetId,
      token: '0x0000000000000000000000000000000000000001',
      symbol: c.symbol,
      decimals: c.decimals,
      feedId: feed(c.feed),
      baseHaircutBps: c.baseHaircutBps,
      volHaircutFactorBps: c.volHaircutFactorBps,
      maxHaircutBps: c.maxHaircutBps,
      volatilityBps: c.volatilityBps,
    })),
    markets: MARKETS.map((m, marketId) => ({
      marketId,
      symbol: m.symbol,
      feedId: feed(m.feed),
      volMarginFactorBps: VOL_MARGIN_FACTOR_BPS,
      volatilityBps: m.volatilityBps,
      fundingRatePerSecond: m.fundingRate,
      fundingIndex: 0n,
      lastFundingUpdate: 0n,
      maxLiquidationNotional: MAX_LIQUIDATION_NOTIONAL,
      bands,
    })),
    expos: new Map(),
    prices: new Map(
      Object.entries(FEED_PRICE).map(([s, p]) => [feed(s), { priceWad: p * WAD, publishTime: 1_000n }]),
    ),
    accounts: new Map(),
    block: { number: 1n, hash: '0x', timestamp: 1_000n },
  }
  for (let i = 0; i < count; i++) {
    const a: AccountState = { balances: new Map(), settlement: 0n, positions: new Map() }
    const usd = BigInt(Math.floor(2_000 + random() * 50_000))
    a.balances.set(0, usd * 10n ** 6n)
    for (const m of state.markets) {
      if (random() < 0.4) continue
      const price = FEED_PRICE[MARKETS[m.marketId]?.feed ?? 'ETH'] as bigint
      const notional = (usd * BigInt(Math.floor(2 + random() * 14))) / 3n
      const size = ((notional * WAD) / price) * (random() < 0.5 ? -1n : 1n)
      a.positions.set(m.marketId, { size, openNotional: size * price, entryFundingIndex: 0n })
    }
    state.accounts.set(`0x${i.toString(16).padStart(40, '0')}`, a)
  }
  return state
}

export function benchPerps(count = 100_000, rounds = 5): string[] {
  const state = syntheticPerps(count)
  const eth = state.markets[0]?.feedId.toLowerCase() as string
  const times: number[] = []
  let liquidatable = 0
  for (let r = 0; r < rounds; r++) {
    // The ETH price moves 6% down: every account is re-evaluated and every liquidation quoted.
    state.prices.set(eth, { priceWad: (3000n - 180n * BigInt((r + 1) % 2)) * WAD, publishTime: 1_000n })
    const started = performance.now()
    liquidatable = planPerps(state, {
      timestamp: 1_001n,
      gasPriceWei: 10n ** 9n,
      updateFeeWei: state.updateFeeWei,
    }).length
    times.push(performance.now() - started)
  }
  const prices = pricesOf(state)
  let open = 0
  if (prices)
    for (const a of state.accounts.values())
      if (accountHealth(state, a, prices, 1_001n).maintenanceMargin > 0n) open++
  times.sort((a, b) => a - b)
  const median = record('perps_full_reeval_100k_ms', times[Math.floor(times.length / 2)] ?? 0)
  // A pending push moving ETH by 4-6% down, planned through the candidate index (built once at
  // the stored prices, as the strategy does on its first plan): only what the move can reach is quoted.
  state.prices.set(eth, { priceWad: 3000n * WAD, publishTime: 1_000n })
  const indexStarted = performance.now()
  const index = PerpsCandidateIndex.build(state, 1_000n)
  const indexMs = record('perps_candidate_index_build_100k_ms', performance.now() - indexStarted)
  if (!index) throw new Error('perps bench: no candidate index')
  const tickTimes: number[] = []
  let walked = 0
  let found = 0
  for (let r = 0; r < 21; r++) {
    const price = (3000n * WAD * BigInt(9_600 - 100 * (r % 3))) / 10_000n
    const started = performance.now()
    found = planPerps(
      state,
      {
        timestamp: 1_001n,
        predicted: { prices: new Map([[eth, price]]), tx: TX },
        gasPriceWei: 10n ** 9n,
        updateFeeWei: state.updateFeeWei,
      },
      (p, t) => {
        const c = index.candidates(p, t)
        walked = c?.length ?? count
        return c
      },
    ).length
    tickTimes.push(performance.now() - started)
  }
  const tick50 = record('perps_tick_100k_p50_ms', percentile(tickTimes, 50))
  const tick99 = record('perps_tick_100k_p99_ms', percentile(tickTimes, 99))
  record('perps_ratio_full_over_tick_100k', median / tick50)
  return [
    `perps full re-evaluation: ${count} accounts across 3 markets (${open} with positions), health + exact liquidation quotes`,
    `  ${median.toFixed(1)} ms median of ${rounds} (${Math.round((count / median) * 1000)} accounts/s, ${liquidatable} liquidatable in the last round)`,
    `  tick (pending ETH push, -4 to -6%) through the candidate index: p50 ${tick50.toFixed(1)} ms, p99 ${tick99.toFixed(1)} ms (${walked} of ${count} quoted, ${found} liquidatable); ratio ${(median / tick50).toFixed(1)}x; index built in ${indexMs.toFixed(0)} ms`,
  ]
}
