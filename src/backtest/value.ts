/** Base-currency value of a token amount at a market's prices (for reports). */
import type { Address } from 'viem'
import type { MarketState } from '../../strategies/aave-v3/state.js'

export function valueAtPrices(
  market: MarketState,
  asset: Address,
  amount: bigint,
  prices = market.prices,
): bigint {
  const key = asset.toLowerCase()
  const reserve = market.reserves.get(key)
  return reserve ? (amount * (prices.get(key) ?? 0n)) / 10n ** BigInt(reserve.decimals) : 0n
}
