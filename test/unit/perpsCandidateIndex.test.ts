/**
 * The perps candidate index against quoting every account exactly: random pending ticks (one to
 * three feeds, up to ±25%, at times up to 30 days on, so funding moves health too) and random blocks
 * (trades that cross band edges, flips, closes, deposits, withdrawals, new accounts, stored price
 * moves) on synthetic clearinghouses; after every step the indexed plan must equal the full one
 * (fast-check, fixed seed).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { syntheticPerps } from '../../bench/perps.js'
import { PerpsCandidateIndex } from '../../strategies/xmargin-perps/candidateIndex.js'
import { WAD } from '../../strategies/xmargin-perps/math.js'
import { type PerpsOpportunity, planPerps } from '../../strategies/xmargin-perps/plan.js'
import type { PerpsState } from '../../strategies/xmargin-perps/state.js'
import { pendingTx } from '../support/fakes.js'

const ACCOUNTS = 1_500
const summary = (list: PerpsOpportunity[]) =>
  list.map(
    (o) => `${o.key} ${o.netProfitBase} ${o.details.marketId} ${o.details.sizeClosed} ${o.details.reward}`,
  )

const move = fc.record({ feed: fc.nat(3), bps: fc.integer({ min: -2_500, max: 2_500 }) })
const step = fc.oneof(
  fc.record({
    kind: fc.constant('tick' as const),
    moves: fc.array(move, { minLength: 1, maxLength: 3 }),
    seconds: fc.constantFrom(0, 1, 12, 3_600, 86_400, 30 * 86_400),
  }),
  fc.record({
    kind: fc.constant('block' as const),
    trades: fc.array(
      fc.record({
        account: fc.nat(ACCOUNTS + 20),
        market: fc.nat(2),
        // Percent of the account's collateral value, signed; large ones cross the 100k/1M edges.
        pct: fc.integer({ min: -2_000, max: 2_000 }),
        deposit: fc.integer({ min: -90, max: 200 }),
      }),
      { minLength: 1, maxLength: 8 },
    ),
    stored: fc.option(move, { nil: undefined }),
    seconds: fc.constantFrom(1, 12, 600),
  }),
)

function feedIds(state: PerpsState): string[] {
  return [...new Set([...state.collaterals, ...state.markets].map((x) => x.feedId.toLowerCase()))]
}

describe('perps candidate index', () => {
  it('gives the same ranked plan as quoting every account, over random ticks and blocks', () => {
    let liquidations = 0
    let ticks = 0
    let walked = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.array(step, { minLength: 3, maxLength: 8 }),
        (seed, steps) => {
          const state = syntheticPerps(ACCOUNTS, seed)
          const feeds = feedIds(state)
          let now = state.block.timestamp
          const index = PerpsCandidateIndex.build(state, now)
          if (!index) throw new Error('no index')
          for (const s of steps) {
            if (s.kind === 'tick') {
              const prices = new Map<string, bigint>()
              for (const m of s.moves) {
                const id = feeds[m.feed % feeds.length] as string
                const base = prices.get(id) ?? (state.prices.get(id)?.priceWad as bigint)
                prices.set(id, (base * BigInt(10_000 + m.bps)) / 10_000n)
              }
              // Every feed is pushed with the tick, so freshness never decides at these times.
              const pushed = new Map(
                feeds.map((id) => [id, prices.get(id) ?? (state.prices.get(id)?.priceWad as bigint)]),
              )
              const params = {
                timestamp: now + BigInt(s.seconds),
                predicted: { prices: pushed, tx: pendingTx(0, state.pyth) },
                gasPriceWei: 10n ** 9n,
                updateFeeWei: state.updateFeeWei,
                now: () => 0,
              }
              let selected = 0
              const full = planPerps(state, params)
              const indexed = planPerps(state, params, (p, t) => {
                const c = index.candidates(p, t)
                selected = c?.length ?? state.accounts.size
                return c
              })
              expect(summary(indexed)).toEqual(summary(full))
              liquidations += full.length
              ticks++
              walked += selected
            } else {
              now += BigInt(s.seconds)
              for (const t of s.trades) {
                const key = `0x${t.account.toString(16).padStart(40, '0')}`
                const account = state.accounts.get(key) ?? {
                  balances: new Map(),
                  settlement: 0n,
                  positions: new Map(),
                }
                state.accounts.set(key, account)
                const usdc = account.balances.get(0) ?? 0n
                account.balances.set(0, usdc + (usdc * BigInt(t.deposit)) / 100n + 1_000n * 10n ** 6n)
                const market = state.markets[t.market]
                if (!market) continue
                const price = state.prices.get(market.feedId.toLowerCase())?.priceWad as bigint
                const value = (account.balances.get(0) ?? 0n) * 10n ** 12n
                const delta = (((value * BigInt(t.pct)) / 100n) * WAD) / price
                const p = account.positions.get(t.market) ?? {
                  size: 0n,
                  openNotional: 0n,
                  entryFundingIndex: 0n,
                }
                const size = p.size + delta
                if (size === 0n || t.pct === 0) account.positions.delete(t.market)
                else
                  account.positions.set(t.market, {
                    size,
                    openNotional: p.openNotional + (delta * price) / WAD,
                    entryFundingIndex: p.entryFundingIndex,
                  })
                index.refresh(key, now)
              }
              if (s.stored) {
                const id = feeds[s.stored.feed % feeds.length] as string
                const stored = state.prices.get(id)
                if (stored)
                  state.prices.set(id, {
                    priceWad: (stored.priceWad * BigInt(10_000 + s.stored.bps)) / 10_000n,
                    publishTime: now,
                  })
              }
              for (const id of feeds) {
                const p = state.prices.get(id)
                if (p) state.prices.set(id, { ...p, publishTime: now })
              }
              state.block = { ...state.block, timestamp: now }
              // A plan at stored prices (a head) agrees too.
              const params = {
                timestamp: now,
                gasPriceWei: 10n ** 9n,
                updateFeeWei: state.updateFeeWei,
                now: () => 0,
              }
              expect(summary(planPerps(state, params, (p, t) => index.candidates(p, t)))).toEqual(
                summary(planPerps(state, params)),
              )
            }
          }
        },
      ),
      { seed: 20_261_203, numRuns: 60 },
    )
    // The runs liquidate (the comparison is not over empty plans) and the index narrows the walk.
    expect(liquidations).toBeGreaterThan(200)
    expect(walked / ticks).toBeLessThan(ACCOUNTS / 2)
  })
})
