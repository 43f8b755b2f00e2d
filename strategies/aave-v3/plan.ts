/**
 * Pure planning: every underwater account's best liquidation at a timestamp (and, for a pending
 * oracle update, at predicted prices), ranked by expected net bonus. Shared by the daemon and the
 * backtest, so both decide with the same code.
 */
import { type Address, encodeFunctionData, formatUnits, getAbiItem, type Hex, toFunctionSelector } from 'viem'
import type { Opportunity, PredictedPrice, ProfitProbe } from '../../src/types.js'
import { erc20Abi, poolAbi } from './abi.js'
import { type Reach, reachOf } from './exposure.js'
import { MAX_UINT256 } from './fixedPoint.js'
import { createMarketView, liquidationQuotes, quoteLiquidation, userAccountData } from './math.js'
import { type FloatBalances, floatView, healthEstimate, SAFETY } from './prefilter.js'
import { assetsMovedBy, pricesAt } from './priceSources.js'
import type { AccountPosition, MarketState } from './state.js'
import { pricesById, type TriggerIndex } from './triggerIndex.js'

export const STRATEGY_NAME = 'aave-v3'

/** Gas a liquidationCall uses (v3.0; v3.6 is in the same range), for ranking before simulation gives the real figure. */
export const LIQUIDATION_GAS_ESTIMATE = 450_000n

/** What an Aave liquidation opportunity carries in `details`: exact amounts, and names for people. */
export type AaveLiquidationDetails = {
  collateralAsset: Address
  debtAsset: Address
  collateralSymbol: string
  debtSymbol: string
  debtToCover: bigint
  collateralReceived: bigint
  /** The amount the call names (type(uint256).max on v3.3+: the Pool's own maximum). */
  callDebtToCover: bigint
}

export type AaveOpportunity = Opportunity<AaveLiquidationDetails>

/** Base-currency value of a signed token amount at `prices` (truncated toward zero, as before: each side floored). */
export function valueAt(
  market: MarketState,
  prices: Map<string, bigint>,
  asset: string,
  amount: bigint,
): bigint {
  const key = asset.toLowerCase()
  const reserve = market.reserves.get(key)
  return reserve ? (amount * (prices.get(key) ?? 0n)) / 10n ** BigInt(reserve.decimals) : 0n
}

/** An account to evaluate, and its slot in the float balances when the walk knows it. */
type Candidate = [key: string, position: AccountPosition, slot?: number]

/** The accounts' positions, lazily (a tick walks tens of thousands: no intermediate arrays). */
function* withPositions(market: MarketState, keys: Iterable<string>): Iterable<Candidate> {
  for (const key of keys) {
    const p = market.accounts.get(key)
    if (p) yield [key, p]
  }
}

/**
 * The index's candidates that the moved assets reach (its superset also holds accounts only an
 * adapter's drift moved): the same accounts, and so the same plan, as walking every exposed slot.
 */
function* reachedAmong(
  market: MarketState,
  reach: Reach,
  slots: readonly number[],
  floats: FloatBalances,
): Iterable<Candidate> {
  for (const slot of slots) {
    if (!floats.reaches(slot, reach)) continue
    const key = floats.keys[slot] as string
    const position = market.accounts.get(key)
    if (position) yield [key, position, slot]
  }
}

/** Every account in `slots`, with its position. */
function* atSlots(market: MarketState, slots: readonly number[], floats: FloatBalances): Iterable<Candidate> {
  for (const slot of slots) {
    const key = floats.keys[slot] as string
    const position = market.accounts.get(key)
    if (position) yield [key, position, slot]
  }
}

const LIQUIDATION_CALL = toFunctionSelector(getAbiItem({ abi: poolAbi, name: 'liquidationCall' }))
const word = (hex: string) => hex.toLowerCase().replace(/^0x/, '').padStart(64, '0')

/**
 * liquidationCall(collateral, debt, user, debtToCover, receiveAToken = false), ABI-encoded by hand:
 * five static words (viem's encoder costs more than the quote for a tick's hundreds of accounts;
 * a unit test holds this to it).
 */
export function liquidationCallData(
  collateral: Address,
  debt: Address,
  user: Address,
  debtToCover: bigint,
): Hex {
  return `${LIQUIDATION_CALL}${word(collateral)}${word(debt)}${word(user)}${debtToCover.toString(16).padStart(64, '0')}${'0'.repeat(64)}`
}

/** The liquidator's balances of both assets, read around the call: collateral in, debt out. */
export function balanceProbes(
  market: MarketState,
  prices: Map<string, bigint>,
  assets: readonly Address[],
): ProfitProbe[] {
  return assets.map((asset) => ({
    label: `balanceOf ${market.reserves.get(asset.toLowerCase())?.symbol ?? asset}`,
    to: asset,
    calldata: (liquidator: Address) =>
      encodeFunctionData({ abi: erc20Abi, functionName: 'balanceOf', args: [liquidator] }),
    valueBase: (delta: bigint) => valueAt(market, prices, asset, delta),
  }))
}

export interface PlanParams {
  timestamp: bigint
  predicted?: PredictedPrice | undefined
  gasPriceWei: bigint
  /** Clock for detectedAt (ms); the backtest passes block time so replays are reproducible. */
  now?: (() => number) | undefined
}

export function planLiquidations(
  market: MarketState,
  params: PlanParams,
  subset: {
    /** Evaluate only these accounts (the block planner's candidates). */
    only?: Iterable<string>
    /** Each evaluated account's health factor and whether it yielded an opportunity. */
    onEvaluated?: (key: string, healthFactor: bigint, planned: boolean) => void
    /**
     * With onEvaluated: accounts the float prefilter finds clearly healthy are not evaluated exactly
     * but reported here with their estimated health (the block planner's first, whole-market plan).
     */
    onEstimated?: (key: string, estimate: number) => void
    /** Evaluate every candidate exactly, without the float prefilter (to test the prefilter). */
    exact?: boolean
    /**
     * Float copies of the balances, kept by the strategy: the prefilter then needs no bigint work,
     * and a pending update walks only the accounts its prices reach (without them: every account).
     */
    floats?: FloatBalances | undefined
    /** For a pending update: walk only the accounts whose trigger the move can have crossed. */
    triggers?: TriggerIndex | undefined
  } = {},
): AaveOpportunity[] {
  const { timestamp, predicted, gasPriceWei } = params
  // Adapter prices at the planned block's time, and pending answers carried through their adapters.
  const prices = pricesAt(market, timestamp, predicted?.prices)
  let candidates: Iterable<Candidate> = market.accounts
  if (subset.only) {
    candidates = withPositions(market, subset.only)
  } else if (predicted && subset.floats) {
    const floats = subset.floats
    const reach = reachOf(market, assetsMovedBy(market, predicted.prices.keys()))
    const slots = subset.triggers?.candidates(pricesById(market, prices), Number(timestamp))
    candidates = slots
      ? reachedAmong(market, reach, slots, floats)
      : atSlots(market, floats.slotsReached(reach), floats)
  }
  const view = createMarketView({ ...market, prices }, timestamp)
  const native = nativePrice(market, prices)
  const gasCostBase = native === 0n ? 0n : (LIQUIDATION_GAS_ESTIMATE * gasPriceWei * native) / 10n ** 18n
  const out: AaveOpportunity[] = []
  // Probes value what the simulation moved at the prices planned with, even after the mirror moves on.
  const plannedPrices = new Map(prices)
  const evaluated = subset.onEvaluated
  const symbol = (asset: Address) => market.reserves.get(asset.toLowerCase())?.symbol ?? asset
  const now = params.now ?? (() => performance.timeOrigin + performance.now())
  const backrun = predicted
    ? { dependsOn: predicted.tx, predictedPrices: predicted.prices, precededBy: predicted.preceding ?? [] }
    : {}
  // Clearly healthy accounts are skipped on a float estimate; whoever wants their exact health
  // (the block planner schedules by it) evaluates every candidate.
  const estimated = subset.onEstimated
  const fv = subset.exact || (evaluated && !estimated) ? undefined : floatView(view)
  for (const [key, position, slot] of candidates) {
    if (position.config === 0n) continue
    if (fv) {
      const floats = subset.floats
      const estimate =
        (floats && (slot !== undefined ? floats.estimateAt(fv, slot) : floats.estimate(fv, key))) ??
        healthEstimate(fv, position)
      if (estimate > SAFETY) {
        estimated?.(key, estimate)
        continue
      }
    }
    const data = userAccountData(view, position)
    if (data.healthFactor >= view.rules.liquidationThresholdHf) {
      evaluated?.(key, data.healthFactor, false)
      continue
    }
    const [first] = liquidationQuotes(view, position, data)
    if (!first) {
      evaluated?.(key, data.healthFactor, false)
      continue
    }
    // v3.0: the call names an exact debtToCover; where the collateral cap applied, that amount runs
    // the contract's uncapped path and can seize a unit less, so quote exactly what the call will do.
    // v3.3+: the Pool's maximum is sent as type(uint256).max (an exact amount could leave dust).
    const collateralId = market.reserves.get(first.collateralAsset.toLowerCase())?.id
    const debtId = market.reserves.get(first.debtAsset.toLowerCase())?.id
    const best =
      first.callDebtToCover === MAX_UINT256
        ? first
        : collateralId !== undefined && debtId !== undefined
          ? quoteLiquidation(view, position, data, collateralId, debtId, first.callDebtToCover)
          : undefined
    if (!best) {
      evaluated?.(key, data.healthFactor, false)
      continue
    }
    const account = key as Address
    evaluated?.(key, data.healthFactor, true)
    const { collateralAsset, debtAsset, callDebtToCover } = best
    // What only a sent or reported opportunity needs (calldata, probes, the USD figure) is made on
    // first read: a tick at scale ranks thousands and sends a few.
    let calldata: Hex | undefined
    let probes: ProfitProbe[] | undefined
    out.push({
      key,
      account,
      strategy: STRATEGY_NAME,
      profitBase: best.bonusBase,
      netProfitBase: best.bonusBase - gasCostBase,
      get netProfitUsd() {
        return formatUnits(this.netProfitBase, 8)
      },
      gasEstimate: LIQUIDATION_GAS_ESTIMATE,
      call: {
        to: market.pool,
        get data() {
          calldata ??= liquidationCallData(collateralAsset, debtAsset, account, callDebtToCover)
          return calldata
        },
        value: 0n,
      },
      get probes() {
        probes ??= balanceProbes(market, plannedPrices, [collateralAsset, debtAsset])
        return probes
      },
      probesAt: (later, at) =>
        balanceProbes(market, pricesAt(market, at, later), [collateralAsset, debtAsset]),
      details: {
        collateralAsset,
        debtAsset,
        collateralSymbol: symbol(collateralAsset),
        debtSymbol: symbol(debtAsset),
        debtToCover: best.debtToCover,
        collateralReceived: best.collateralReceived,
        callDebtToCover,
      },
      ...backrun,
      atTimestamp: timestamp,
      blockNumber: market.block.number,
      detectedAt: now(),
    })
  }
  return out.sort(byNetProfit)
}

/** Best first; equal profits by key, so any two planners that agree return the same order. */
export function byNetProfit(a: AaveOpportunity, b: AaveOpportunity): number {
  if (a.netProfitBase !== b.netProfitBase) return a.netProfitBase > b.netProfitBase ? -1 : 1
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

/** The base-currency price of 1 native token (1e18 wei): its wrapped token's price; 0 when unknown. */
export function nativePrice(market: MarketState, prices: Map<string, bigint>): bigint {
  return market.nativeAsset ? (prices.get(market.nativeAsset) ?? 0n) : 0n
}
