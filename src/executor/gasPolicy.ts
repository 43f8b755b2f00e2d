/**
 * Pure gas pricing. A backrun of a pending oracle update copies the update's fee fields so that it
 * is ordered right after it (anvil orders by fee cap, then arrival; geth by tip, then arrival).
 * Otherwise the priority fee is a share of the expected profit (configured, or learned from the
 * winners: bidLearner.ts), never more than leaves the minimum profit, capped by the fee cap.
 */
import type { PendingTx } from '../types.js'
import type { RefusalReason } from './refusal.js'

export interface GasBid {
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

export interface BidParams {
  /** Expected profit before gas, base units. */
  profitBase: bigint
  gasLimit: bigint
  baseFeeWei: bigint
  nativePriceBase: bigint
  shareBps: bigint
  maxFeeCapWei: bigint
  dependsOn?: PendingTx | undefined
  /** Profit the bid must leave (the minimum profit): the tip is cut to fit, never past it. */
  keepBase?: bigint | undefined
}

export function bidGas(p: BidParams): GasBid | { refuse: RefusalReason } {
  if (p.dependsOn) {
    const tx = p.dependsOn
    const maxFee = tx.maxFeePerGas ?? tx.gasPrice
    const tip = tx.maxPriorityFeePerGas ?? tx.gasPrice
    if (maxFee === null || tip === null) return { refuse: 'oracle transaction has no fee fields' }
    if (maxFee > p.maxFeeCapWei) return { refuse: 'oracle transaction pays more than the fee cap' }
    return { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip }
  }
  if (p.nativePriceBase <= 0n) return { refuse: 'no native token price to value gas' }
  const profitWei = (p.profitBase * 10n ** 18n) / p.nativePriceBase
  let tip = (profitWei * p.shareBps) / 10_000n / p.gasLimit
  const minTip = 10n ** 6n
  if (p.keepBase !== undefined) {
    // What may go to gas at all: the profit above the minimum, less the base fee it pays anyway.
    const spendableWei =
      ((p.profitBase - p.keepBase) * 10n ** 18n) / p.nativePriceBase - p.baseFeeWei * p.gasLimit
    const maxTip = spendableWei > 0n ? spendableWei / p.gasLimit : 0n
    if (tip > maxTip) tip = maxTip
  }
  if (tip < minTip) tip = minTip
  let maxFee = p.baseFeeWei * 2n + tip
  if (maxFee > p.maxFeeCapWei) maxFee = p.maxFeeCapWei
  if (maxFee < p.baseFeeWei + minTip) return { refuse: 'base fee is above the fee cap' }
  if (tip > maxFee) tip = maxFee
  return { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip }
}

/** A replacement every client accepts: both fields raised by at least 12.5%, rounded up. */
export function bumpGas(bid: GasBid): GasBid {
  const bump = (v: bigint) => (v * 1125n + 999n) / 1000n + 1n
  return { maxFeePerGas: bump(bid.maxFeePerGas), maxPriorityFeePerGas: bump(bid.maxPriorityFeePerGas) }
}

/** Worst-case cost in base currency of `gasLimit` at `maxFeePerGas`. */
export function gasCostBase(gasLimit: bigint, feePerGasWei: bigint, nativePriceBase: bigint): bigint {
  return (gasLimit * feePerGasWei * nativePriceBase) / 10n ** 18n
}
