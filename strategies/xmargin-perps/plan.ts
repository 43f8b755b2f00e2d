/**
 * Pure planning for the clearinghouse: every account with a position evaluated at the expected
 * inclusion timestamp, at stored, predicted (a pending price push) or streamed (Hermes) prices; each
 * liquidatable one becomes the exact liquidate() call (riskiest position, closed size, reward),
 * carrying the streamed update and its fee when prices come from the stream.
 */
import { type Address, encodeFunctionData, type Hex } from 'viem'
import type { Opportunity, PlanParams } from '../../src/types.js'
import { clearinghouseAbi } from './abi.js'
import { type Prices, pricesOf, quoteLiquidation, toWad, WAD } from './math.js'
import type { PerpsState } from './state.js'

export const STRATEGY_NAME = 'xmargin-perps'

/** Gas a liquidate() uses with a price update of every feed (measured on the devnet: ~250-400k). */
export const LIQUIDATION_GAS_ESTIMATE = 450_000n

export type PerpsLiquidationDetails = {
  marketId: number
  market: string
  sizeClosed: bigint
  price: bigint
  reward: bigint
  fromInsurance: bigint
  badDebt: bigint
  updateFeeWei: bigint
}

export type PerpsOpportunity = Opportunity<PerpsLiquidationDetails>

/** The native gas token's price (WAD per 1e18 wei): the first ETH-named feed. */
export function nativePrice(state: PerpsState, overrides?: Map<string, bigint>): bigint {
  const feed =
    state.collaterals.find((c) => /^W?ETH$/i.test(c.symbol))?.feedId ??
    state.markets.find((m) => /^ETH(-PERP)?$/i.test(m.symbol))?.feedId
  if (!feed) return 0n
  return overrides?.get(feed.toLowerCase()) ?? state.prices.get(feed.toLowerCase())?.priceWad ?? 0n
}

/** Whether every feed the clearinghouse reads is fresh enough at `timestamp` (else it reverts StalePrice). */
function fresh(state: PerpsState, publishTimes: Map<string, bigint>, timestamp: bigint): boolean {
  const feeds = [...state.collaterals.map((c) => c.feedId), ...state.markets.map((m) => m.feedId)]
  return feeds.every((id) => {
    const t = publishTimes.get(id.toLowerCase())
    if (t === undefined) return false
    const age = timestamp > t ? timestamp - t : t - timestamp
    return age <= state.params.maxPriceAge
  })
}

export function planPerps(
  state: PerpsState,
  params: PlanParams & { updateFeeWei: bigint },
  /**
   * The accounts worth quoting at these prices and time (a superset of the liquidatable ones, e.g.
   * the candidate index's); undefined: every account.
   */
  select?: (prices: Prices, timestamp: bigint) => Iterable<string> | undefined,
): PerpsOpportunity[] {
  const { timestamp, predicted, streamed, gasPriceWei } = params
  const overrides = new Map<string, bigint>()
  const publishTimes = new Map([...state.prices].map(([id, p]) => [id, p.publishTime]))
  let updateData: Hex[] = []
  if (predicted) for (const [id, price] of predicted.prices) overrides.set(id, price)
  if (predicted) for (const id of predicted.prices.keys()) publishTimes.set(id, timestamp)
  if (streamed) {
    for (const f of streamed.feeds) {
      const wad = toWad(f.price, f.expo)
      const stored = publishTimes.get(f.id)
      // The contract keeps the newer of the stored and the carried price.
      if (wad === undefined || (stored !== undefined && stored >= f.publishTime)) continue
      overrides.set(f.id, wad)
      publishTimes.set(f.id, f.publishTime)
    }
    updateData = streamed.updateData
  }
  if (!fresh(state, publishTimes, timestamp)) return []
  const prices = pricesOf(state, overrides)
  if (!prices) return []
  const fee = params.updateFeeWei * BigInt(updateData.length)
  const native = nativePrice(state, overrides)
  const feeBase = (fee * native) / WAD
  const gasBase = (LIQUIDATION_GAS_ESTIMATE * gasPriceWei * native) / WAD
  const now = params.now ?? (() => performance.timeOrigin + performance.now())
  const out: PerpsOpportunity[] = []
  const selected = select?.(prices, timestamp)
  for (const key of selected ?? state.accounts.keys()) {
    const account = state.accounts.get(key)
    if (!account || account.positions.size === 0) continue
    const quote = quoteLiquidation(state, account, prices, timestamp)
    if (!quote || quote.sizeClosed === 0n) continue
    const market = state.markets[quote.marketId]
    const profit = quote.reward - feeBase
    const net = profit - gasBase
    out.push({
      key,
      account: key as Address,
      strategy: STRATEGY_NAME,
      profitBase: profit,
      netProfitBase: net,
      gasEstimate: LIQUIDATION_GAS_ESTIMATE,
      call: {
        to: state.clearinghouse,
        data: encodeFunctionData({
          abi: clearinghouseAbi,
          functionName: 'liquidate',
          args: [key as Address, updateData],
        }),
        value: fee,
      },
      probes: [
        {
          label: 'settlementBalanceOf liquidator',
          to: state.clearinghouse,
          signed: true,
          calldata: (liquidator: Address) =>
            encodeFunctionData({
              abi: clearinghouseAbi,
              functionName: 'settlementBalanceOf',
              args: [liquidator],
            }),
          // Settlement balance is WAD USD: already base units.
          valueBase: (delta: bigint) => delta,
        },
      ],
      ...(updateData.length > 0 ? { priceUpdate: { updateData, feeWei: fee } } : {}),
      details: {
        marketId: quote.marketId,
        market: market?.symbol ?? String(quote.marketId),
        sizeClosed: quote.sizeClosed,
        price: quote.price,
        reward: quote.reward,
        fromInsurance: quote.fromInsurance,
        badDebt: quote.badDebt,
        updateFeeWei: fee,
      },
      ...(predicted
        ? {
            dependsOn: predicted.tx,
            predictedPrices: predicted.prices,
            precededBy: predicted.preceding ?? [],
          }
        : {}),
      atTimestamp: timestamp,
      blockNumber: state.block.number,
      detectedAt: streamed?.receivedAt ?? now(),
    })
  }
  // Equal profits by key: the order cannot depend on which accounts were walked, or in what order.
  return out.sort((a, b) =>
    a.netProfitBase > b.netProfitBase
      ? -1
      : a.netProfitBase < b.netProfitBase
        ? 1
        : a.key < b.key
          ? -1
          : a.key > b.key
            ? 1
            : 0,
  )
}
