/**
 * Pure planning: every underwater account's best liquidation at a timestamp (and, for a pending
 * oracle update, at predicted prices), ranked by expected net bonus. Shared by the daemon and the
 * backtest, so both decide with the same code.
 */
import { type Address, encodeFunctionData, getAbiItem, type Hex, toFunctionSelector } from 'viem'
import type { Opportunity, OpportunityCall, PredictedPrice, ProfitProbe } from '../../src/types.js'
import { erc20Abi, poolAbi } from './abi.js'
import { reachOf } from './exposure.js'
import { MAX_UINT256 } from './fixedPoint.js'
import {
  bestLiquidationQuote,
  collateralBalance,
  createMarketView,
  quoteLiquidation,
  userAccountData,
} from './math.js'
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

/**
 * A read of the liquidator's balance of one reserve's token, valued at fixed prices. A class, not an
 * object literal with closures: a tick at scale makes two per opportunity for thousands of them.
 */
class BalanceProbe implements ProfitProbe {
  constructor(
    private readonly market: MarketState,
    private readonly prices: Map<string, bigint>,
    readonly to: Address,
  ) {}
  get label(): string {
    return `balanceOf ${symbolOf(this.market, this.to)}`
  }
  calldata(liquidator: Address): Hex {
    return encodeFunctionData({ abi: erc20Abi, functionName: 'balanceOf', args: [liquidator] })
  }
  valueBase(delta: bigint): bigint {
    return valueAt(this.market, this.prices, this.to, delta)
  }
}

/** The liquidator's balances of both assets, read around the call: collateral in, debt out. */
export function balanceProbes(
  market: MarketState,
  prices: Map<string, bigint>,
  assets: readonly Address[],
): ProfitProbe[] {
  return assets.map((asset) => new BalanceProbe(market, prices, asset))
}

/** The same probes at other prices (a later pending update's), through pricesAt as planned. */
function repricedProbes(market: MarketState, collateral: Address, debt: Address) {
  return (later: ReadonlyMap<string, bigint>, at: bigint): ProfitProbe[] =>
    balanceProbes(market, pricesAt(market, at, later), [collateral, debt])
}

/**
 * liquidationCall's transaction, its calldata encoded on first read: a tick at scale ranks thousands
 * of opportunities and sends a few. (An accessor on a class costs nothing per object; one in an
 * object literal costs about a microsecond to create, more than the rest of the opportunity.)
 */
class LiquidationCallTx implements OpportunityCall {
  readonly value = 0n
  private encoded: Hex | undefined
  constructor(
    readonly to: Address,
    private readonly args: readonly [collateral: Address, debt: Address, user: Address, debtToCover: bigint],
  ) {}
  get data(): Hex {
    this.encoded ??= liquidationCallData(...this.args)
    return this.encoded
  }
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
  const view = createMarketView({ ...market, prices }, timestamp)
  const native = nativePrice(market, prices)
  const gasCostBase = native === 0n ? 0n : (LIQUIDATION_GAS_ESTIMATE * gasPriceWei * native) / 10n ** 18n
  const out: AaveOpportunity[] = []
  // Probes value what the simulation moved at the prices planned with, even after the mirror moves on.
  // (copied once, on the first opportunity: most block plans of a quiet market make none).
  let plannedPrices: Map<string, bigint> | undefined
  const evaluated = subset.onEvaluated
  const now = params.now ?? wallClock
  // Clearly healthy accounts are skipped on a float estimate; whoever wants their exact health
  // (the block planner schedules by it) evaluates every candidate.
  const estimated = subset.onEstimated
  const fv = subset.exact || (evaluated && !estimated) ? undefined : floatView(view)
  const floats = subset.floats
  // One account: skipped on its estimate, else evaluated exactly and, if liquidatable, planned.
  // A function called from plain loops below (a generator of [key, position, slot] tuples cost
  // an allocation and a resumption per account of a tick's tens of thousands).
  const visit = (key: string, position: AccountPosition, slot: number | undefined): void => {
    if (position.config === 0n) return
    if (fv) {
      const estimate =
        (floats && (slot !== undefined ? floats.estimateAt(fv, slot) : floats.estimate(fv, key))) ??
        healthEstimate(fv, position)
      if (estimate > SAFETY) {
        estimated?.(key, estimate)
        return
      }
    }
    const data = userAccountData(view, position)
    if (data.healthFactor >= view.rules.liquidationThresholdHf) {
      evaluated?.(key, data.healthFactor, false)
      return
    }
    const first = bestLiquidationQuote(view, position, data)
    if (!first) {
      evaluated?.(key, data.healthFactor, false)
      return
    }
    // v3.0: the call names an exact debtToCover; where the collateral cap applied, that amount runs
    // the contract's uncapped path and can seize a unit less, so quote exactly what the call will do.
    // v3.3+: the Pool's maximum is sent as type(uint256).max (an exact amount could leave dust).
    const { collateralId, debtId } = first
    // Where the cap did not apply (less than the whole balance seized), the amount named is the
    // close-factor maximum the quote already ran: the same computation, the same quote.
    const best =
      first.callDebtToCover === MAX_UINT256 ||
      first.collateralReceived + first.protocolFee < collateralBalance(view, position, collateralId)
        ? first
        : quoteLiquidation(view, position, data, collateralId, debtId, first.callDebtToCover)
    if (!best) {
      evaluated?.(key, data.healthFactor, false)
      return
    }
    const account = key as Address
    evaluated?.(key, data.healthFactor, true)
    const { collateralAsset, debtAsset, callDebtToCover } = best
    plannedPrices ??= new Map(prices)
    // A plain object (spread and copied by the executor) whose costly parts are made on first use:
    // the calldata (LiquidationCallTx) and the probes' own calldata and label (BalanceProbe).
    const opportunity: AaveOpportunity = {
      key,
      account,
      strategy: STRATEGY_NAME,
      profitBase: best.bonusBase,
      netProfitBase: best.bonusBase - gasCostBase,
      gasEstimate: LIQUIDATION_GAS_ESTIMATE,
      call: new LiquidationCallTx(market.pool, [collateralAsset, debtAsset, account, callDebtToCover]),
      probes: balanceProbes(market, plannedPrices, [collateralAsset, debtAsset]),
      probesAt: repricedProbes(market, collateralAsset, debtAsset),
      details: {
        collateralAsset,
        debtAsset,
        collateralSymbol: view.reserves[best.collateralId]?.symbol ?? collateralAsset,
        debtSymbol: view.reserves[best.debtId]?.symbol ?? debtAsset,
        debtToCover: best.debtToCover,
        collateralReceived: best.collateralReceived,
        callDebtToCover,
      },
      atTimestamp: timestamp,
      blockNumber: market.block.number,
      detectedAt: now(),
    }
    // Set, not spread into the literal: a spread makes each of thousands of objects the slow way.
    if (predicted) {
      opportunity.dependsOn = predicted.tx
      opportunity.predictedPrices = predicted.prices
      opportunity.precededBy = predicted.preceding ?? []
    }
    out.push(opportunity)
  }
  if (subset.only) {
    for (const key of subset.only) {
      const position = market.accounts.get(key)
      if (position) visit(key, position, undefined)
    }
  } else if (predicted && floats) {
    // A pending update walks only the accounts its prices reach; with the trigger index, only those
    // of them whose trigger the move can have crossed (its candidates also hold accounts only an
    // adapter's drift moved: the same filter keeps the plan that of walking every reached slot).
    const reach = reachOf(market, assetsMovedBy(market, predicted.prices.keys()))
    const slots = subset.triggers?.candidates(pricesById(market, prices), Number(timestamp))
    const keys = floats.keys
    const positions = floats.positions
    for (const slot of slots ?? floats.slotsReached(reach)) {
      if (slots && !floats.reaches(slot, reach)) continue
      const position = positions[slot]
      if (position) visit(keys[slot] as string, position, slot)
    }
  } else for (const [key, position] of market.accounts) visit(key, position, undefined)
  return out.sort(byNetProfit)
}

const wallClock = () => performance.timeOrigin + performance.now()
const symbolOf = (market: MarketState, asset: Address) =>
  market.reserves.get(asset.toLowerCase())?.symbol ?? asset

/** Best first; equal profits by key, so any two planners that agree return the same order. */
export function byNetProfit(a: AaveOpportunity, b: AaveOpportunity): number {
  if (a.netProfitBase !== b.netProfitBase) return a.netProfitBase > b.netProfitBase ? -1 : 1
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

/** The base-currency price of 1 native token (1e18 wei): its wrapped token's price; 0 when unknown. */
export function nativePrice(market: MarketState, prices: Map<string, bigint>): bigint {
  return market.nativeAsset ? (prices.get(market.nativeAsset) ?? 0n) : 0n
}
