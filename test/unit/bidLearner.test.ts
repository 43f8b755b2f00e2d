/** Bids learned from winners: the share arithmetic, the percentile, the window, and the cap inside the profit. */
import { describe, expect, it } from 'vitest'
import { createBidLearner } from '../../src/executor/bidLearner.js'
import { bidGas, gasCostBase } from '../../src/executor/gasPolicy.js'

// 1 ETH = $2,000 in 8-decimal base units.
const NATIVE = 2_000n * 10n ** 8n
const GWEI = 10n ** 9n

describe('bid learner', () => {
  it('turns a winner’s priority fee into a share of its bonus', () => {
    const learner = createBidLearner({ percentile: 50, window: 10, minSamples: 1 })
    // 0.001 ETH of tips = $2 against a $10 bonus: 20%.
    learner.observe({ tipPaidWei: 10n ** 15n, bonusBase: 10n * 10n ** 8n, nativePriceBase: NATIVE })
    expect(learner.current()).toEqual({ shareBps: 2_000n, samples: 1, percentile: 50 })
  })

  it('says nothing below its minimum, then bids the nearest-rank percentile of the window', () => {
    const learner = createBidLearner({ percentile: 75, window: 8, minSamples: 3 })
    const observe = (bps: bigint) =>
      // A $1 bonus whose tip was worth bps/10000 of it.
      learner.observe({
        tipPaidWei: (bps * 10n ** 18n) / 10_000n / 2_000n,
        bonusBase: 10n ** 8n,
        nativePriceBase: NATIVE,
      })
    observe(100n)
    observe(900n)
    expect(learner.current()).toBeUndefined()
    for (const bps of [500n, 300n, 700n, 200n, 800n, 400n]) observe(bps)
    // Shares 100..900 minus 600: sorted [100,200,300,400,500,700,800,900]; rank ceil(0.75·8) = 6 → 700.
    expect(learner.current()?.shareBps).toBe(700n)
    // The window keeps the last 8: the 100 drops out; a tip worth ten bonuses counts as the whole one.
    learner.observe({ tipPaidWei: 10n ** 18n, bonusBase: 10n ** 8n, nativePriceBase: NATIVE })
    expect(learner.samples).toBe(8)
    expect(learner.current()?.shareBps).toBe(800n)
  })

  it('refuses a percentile outside 0–100', () => {
    expect(() => createBidLearner({ percentile: 101, window: 1, minSamples: 1 })).toThrow(/0–100/)
  })

  it('a learned share never bids away the minimum profit', () => {
    const gasLimit = 400_000n
    const baseFeeWei = GWEI
    const profitBase = 10n * 10n ** 8n
    const keepBase = 9n * 10n ** 8n
    const bid = bidGas({
      profitBase,
      gasLimit,
      baseFeeWei,
      nativePriceBase: NATIVE,
      shareBps: 9_000n,
      maxFeeCapWei: 1_000n * GWEI,
      keepBase,
    })
    if ('refuse' in bid) throw new Error(bid.refuse)
    // Paying the base fee and the tip for every unit of gas still leaves the minimum.
    const paid = gasCostBase(gasLimit, baseFeeWei + bid.maxPriorityFeePerGas, NATIVE)
    expect(profitBase - paid).toBeGreaterThanOrEqual(keepBase)
    // And it is not cut further than that: one wei more of tip per gas would not fit.
    const more = gasCostBase(gasLimit, baseFeeWei + bid.maxPriorityFeePerGas + 1n, NATIVE)
    expect(profitBase - more).toBeLessThanOrEqual(keepBase)
    // Without a floor to keep, the same share bids more.
    const uncapped = bidGas({
      profitBase,
      gasLimit,
      baseFeeWei,
      nativePriceBase: NATIVE,
      shareBps: 9_000n,
      maxFeeCapWei: 1_000n * GWEI,
    })
    if ('refuse' in uncapped) throw new Error(uncapped.refuse)
    expect(uncapped.maxPriorityFeePerGas).toBeGreaterThan(bid.maxPriorityFeePerGas)
  })
})
