/**
 * Bids learned from the winners. Every liquidation that lands on the chain — ours or anyone's — shows
 * what it took to win: the priority fee its transaction paid (effective gas price above the block's
 * base fee, times gas used) plus what it paid the builder directly (builderPayment.ts), as a share
 * of the bonus it earned. The learner keeps the last `window`
 * of those shares and bids the configured percentile of them, so the share of profit given to the
 * block producer follows the market instead of a fixed guess. Until it has `minSamples` it says
 * nothing and the configured share applies. Pure: the daemon feeds it receipts.
 *
 * Builder payments (a coinbase transfer inside the transaction) are not in a receipt: they are read
 * from the node's call trace, and where the node does not trace, the learned share is a lower bound.
 */

export interface WinningSample {
  /** Priority fee the winning transaction paid in all, plus its direct builder payment, wei. */
  tipPaidWei: bigint
  /** The bonus it earned (seized collateral value minus repaid debt value), base currency. */
  bonusBase: bigint
  /** Base-currency price of 1e18 wei of the native token at the time. */
  nativePriceBase: bigint
}

export interface LearnedShare {
  shareBps: bigint
  samples: number
  percentile: number
}

export interface BidLearner {
  observe(sample: WinningSample): void
  /** The share of profit to bid, or undefined while there are too few samples. */
  current(): LearnedShare | undefined
  readonly samples: number
}

export function createBidLearner(settings: {
  percentile: number
  window: number
  minSamples: number
}): BidLearner {
  if (!(settings.percentile >= 0 && settings.percentile <= 100))
    throw new RangeError(`bid percentile must be within 0–100, got ${settings.percentile}`)
  const shares: bigint[] = []
  let sorted: bigint[] | undefined
  return {
    observe(sample) {
      if (sample.bonusBase <= 0n || sample.nativePriceBase <= 0n || sample.tipPaidWei < 0n) return
      const tipBase = (sample.tipPaidWei * sample.nativePriceBase) / 10n ** 18n
      let share = (tipBase * 10_000n) / sample.bonusBase
      if (share > 10_000n) share = 10_000n
      shares.push(share)
      if (shares.length > settings.window) shares.shift()
      sorted = undefined
    },
    current() {
      if (shares.length < Math.max(1, settings.minSamples)) return undefined
      sorted ??= [...shares].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      // Nearest rank: the smallest share at least `percentile`% of the winners paid no more than.
      const rank = Math.max(1, Math.ceil((settings.percentile / 100) * sorted.length))
      return {
        shareBps: sorted[rank - 1] as bigint,
        samples: sorted.length,
        percentile: settings.percentile,
      }
    },
    get samples() {
      return shares.length
    },
  }
}
