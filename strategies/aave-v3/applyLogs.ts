/**
 * Applies decoded logs to the mirror, in chain order, with no IO. Every rule names the Solidity it
 * mirrors. The result says which accounts changed and which prices moved (for incremental
 * re-evaluation), and whether something needs a reload from the chain (a new reserve, a new source).
 */
import { type Abi, decodeEventLog, toEventSelector } from 'viem'
import type { ChainLog } from '../../src/chain/types.js'
import {
  aaveOracleAbi,
  addressesProviderAbi,
  aggregatorAbi,
  poolAbi,
  poolConfiguratorAbi,
  proxyAbi,
  scaledTokenAbi,
  stableDebtTokenAbi,
} from './abi.js'
import { rayMul } from './fixedPoint.js'
import { marketRules, normalizedDebt, normalizedIncome } from './math.js'
import { adapterFeedAddresses, modelledPrice, type PollResult } from './priceSources.js'
import type { AaveRules } from './rules.js'
import {
  type AccountPosition,
  emptyPosition,
  type MarketState,
  type ReserveState,
  reserveById,
} from './state.js'

export interface ApplyResult {
  touchedAccounts: Set<string>
  /** Lowercase assets (or price sources) whose price changed. */
  movedPrices: Set<string>
  /** Reserves whose index or configuration changed. */
  touchedReserves: Set<number>
  /** Reserves whose risk configuration changed (health depends on it, not only on time). */
  configuredReserves: Set<number>
  reloadNeeded: string[]
  /** Set after a reload found another Pool or revision: the mirror must be rebuilt from logs. */
  rebuildNeeded?: string
  /** Adapters whose model stopped reproducing the oracle at this head (re-read only from now on). */
  adapterDisagreements?: PollResult['disagreements']
  /** Called once per account, before its first change in this result (undo records for reorgs). */
  beforeTouch?: (key: string, previous: AccountPosition | undefined) => void
}

export function emptyResult(): ApplyResult {
  return {
    touchedAccounts: new Set(),
    movedPrices: new Set(),
    touchedReserves: new Set(),
    configuredReserves: new Set(),
    reloadNeeded: [],
  }
}

const UPGRADED = toEventSelector(proxyAbi[0])
const tokenEventsAbi = [...scaledTokenAbi, ...stableDebtTokenAbi] as Abi
const poolEventsAbi = poolAbi as Abi
const configuratorEventsAbi = poolConfiguratorAbi as Abi
const oracleEventsAbi = [...aaveOracleAbi, ...aggregatorAbi] as Abi

export type { ChainLog }

function position(market: MarketState, user: string, result: ApplyResult): AccountPosition {
  const key = user.toLowerCase()
  let p = market.accounts.get(key)
  if (!result.touchedAccounts.has(key)) result.beforeTouch?.(key, p)
  result.touchedAccounts.add(key)
  if (!p) {
    p = emptyPosition()
    market.accounts.set(key, p)
  }
  return p
}

const setBit = (p: AccountPosition, bit: number, on: boolean) => {
  const b = 1n << BigInt(bit)
  p.config = on ? p.config | b : p.config & ~b
}

function decode(abi: Abi, log: ChainLog): { eventName: string; args: Record<string, unknown> } | undefined {
  try {
    return decodeEventLog({
      abi,
      data: log.data,
      topics: log.topics as [`0x${string}`, ...`0x${string}`[]],
      strict: true,
    }) as never
  } catch {
    // Events we do not follow (Transfer, Approval, …) share the contracts; they carry no position data.
    return undefined
  }
}

function reserveByAsset(market: MarketState, asset: unknown): ReserveState | undefined {
  return typeof asset === 'string' ? market.reserves.get(asset.toLowerCase()) : undefined
}

/** Applies one block's logs (already in logIndex order) at that block's timestamp. */
export function applyLogs(
  market: MarketState,
  logs: readonly ChainLog[],
  timestamp: bigint,
  result = emptyResult(),
): ApplyResult {
  const pool = market.pool.toLowerCase()
  const configurator = market.configurator.toLowerCase()
  const oracle = market.oracle.toLowerCase()
  const provider = market.addressesProvider.toLowerCase()
  const rules = marketRules(market)
  const adapterFeeds = market.adapters.size > 0 ? adapterFeedAddresses(market) : undefined
  for (const log of logs) {
    const address = log.address.toLowerCase()
    const token = market.tokens.get(address)
    if (token) {
      applyTokenLog(market, rules, token.reserveId, token.kind, log, timestamp, result)
    } else if (address === provider) {
      // PoolUpdated (a new implementation), PriceOracleUpdated, PoolConfiguratorUpdated.
      const event = decode(addressesProviderAbi as Abi, log)
      if (event) result.reloadNeeded.push(`addresses provider: ${event.eventName}`)
    } else if (address === pool && log.topics[0] === UPGRADED) {
      result.reloadNeeded.push('Pool proxy upgraded')
    } else if (address === pool) {
      applyPoolLog(market, rules, log, timestamp, result)
    } else if (address === configurator && log.topics[0] === UPGRADED) {
      result.reloadNeeded.push('PoolConfigurator proxy upgraded')
    } else if (address === configurator) {
      applyConfiguratorLog(market, log, result)
    } else if (address === oracle || market.sources.has(address) || adapterFeeds?.has(address)) {
      applyOracleLog(market, address, log, timestamp, result)
    }
  }
  return result
}

function applyTokenLog(
  market: MarketState,
  rules: AaveRules,
  reserveId: number,
  kind: 'aToken' | 'variableDebt' | 'stableDebt',
  log: ChainLog,
  timestamp: bigint,
  result: ApplyResult,
) {
  const event = decode(tokenEventsAbi, log)
  if (!event) return
  const a = event.args
  if (kind === 'stableDebt') {
    applyStableDebtLog(market, reserveId, event.eventName, a, timestamp, result)
    return
  }
  const balances = (p: AccountPosition) => (kind === 'aToken' ? p.scaledCollateral : p.scaledDebt)
  if (event.eventName === 'Mint' || event.eventName === 'Burn') {
    // ScaledBalanceTokenBase: Mint's value - balanceIncrease is the change (negative when a burn's
    // interest exceeds the amount burned); Burn's value + balanceIncrease is the amount removed.
    const isMint = event.eventName === 'Mint'
    const p = position(market, (isMint ? a.onBehalfOf : a.from) as string, result)
    const value = a.value as bigint
    const increase = a.balanceIncrease as bigint
    const index = a.index as bigint
    const signedAmount = isMint ? value - increase : -(value + increase)
    const list = balances(p)
    const before = list[reserveId] ?? 0n
    const after = rules.scaledAfterEvent(before, signedAmount, index, kind)
    list[reserveId] = after
    if (kind === 'variableDebt') {
      // A debt mint means the account now owes this reserve (BorrowLogic sets the bit on borrow).
      if (signedAmount > 0n) setBit(p, reserveId * 2, true)
      else if (signedAmount < 0n && borrowingCleared(rules, p, reserveId, before, after, index, signedAmount))
        setBit(p, reserveId * 2, false)
    }
  } else if (event.eventName === 'BalanceTransfer' && kind === 'aToken') {
    const scaled = a.value as bigint
    const from = position(market, a.from as string, result)
    const to = position(market, a.to as string, result)
    from.scaledCollateral[reserveId] = (from.scaledCollateral[reserveId] ?? 0n) - scaled
    to.scaledCollateral[reserveId] = (to.scaledCollateral[reserveId] ?? 0n) + scaled
  }
}

/**
 * Repay and liquidation clear the borrowing bit when the debt reaches zero: v3.0 when the debt
 * the Pool computed reaches exactly zero (whatever scaled dust rounding leaves behind) and no
 * stable debt remains; v3.1+ when the scaled balance reaches zero.
 */
function borrowingCleared(
  rules: AaveRules,
  p: AccountPosition,
  reserveId: number,
  before: bigint,
  after: bigint,
  index: bigint,
  signedAmount: bigint,
): boolean {
  if (rules.borrowingClearedWhen === 'scaled-zero') return after === 0n
  return rayMul(before, index) + signedAmount === 0n && (p.stable?.get(reserveId)?.principal ?? 0n) === 0n
}

function applyStableDebtLog(
  market: MarketState,
  reserveId: number,
  eventName: string,
  a: Record<string, unknown>,
  timestamp: bigint,
  result: ApplyResult,
) {
  if (eventName === 'Mint') {
    // StableDebtToken.mint: principal becomes currentBalance + amount, where the event's amount is
    // amount + balanceIncrease; rate and timestamp are the user's new ones.
    const p = position(market, a.onBehalfOf as string, result)
    p.stable ??= new Map()
    const amount = (a.amount as bigint) - (a.balanceIncrease as bigint)
    p.stable.set(reserveId, {
      principal: (a.currentBalance as bigint) + amount,
      rate: a.newRate as bigint,
      timestamp,
    })
    setBit(p, reserveId * 2, true)
  } else if (eventName === 'Burn') {
    // StableDebtToken.burn: principal becomes currentBalance - amount (event amount is amount - increase).
    const p = position(market, a.from as string, result)
    p.stable ??= new Map()
    const current = p.stable.get(reserveId)
    const amount = (a.amount as bigint) + (a.balanceIncrease as bigint)
    const principal = (a.currentBalance as bigint) - amount
    if (principal === 0n) {
      p.stable.delete(reserveId)
      const reserve = reserveById(market, reserveId)
      const variable = reserve
        ? rayMul(p.scaledDebt[reserveId] ?? 0n, normalizedDebt(reserve, timestamp))
        : 0n
      if (variable === 0n) setBit(p, reserveId * 2, false)
    } else {
      p.stable.set(reserveId, { principal, rate: current?.rate ?? 0n, timestamp })
    }
  }
}

function applyPoolLog(
  market: MarketState,
  rules: AaveRules,
  log: ChainLog,
  timestamp: bigint,
  result: ApplyResult,
) {
  const event = decode(poolEventsAbi, log)
  if (!event) return
  const a = event.args
  switch (event.eventName) {
    case 'ReserveDataUpdated': {
      const reserve = reserveByAsset(market, a.reserve)
      if (!reserve) return
      reserve.liquidityRate = a.liquidityRate as bigint
      reserve.stableBorrowRate = a.stableBorrowRate as bigint
      reserve.variableBorrowRate = a.variableBorrowRate as bigint
      reserve.liquidityIndex = a.liquidityIndex as bigint
      reserve.variableBorrowIndex = a.variableBorrowIndex as bigint
      reserve.lastUpdateTimestamp = timestamp
      result.touchedReserves.add(reserve.id)
      return
    }
    case 'ReserveUsedAsCollateralEnabled':
    case 'ReserveUsedAsCollateralDisabled': {
      const reserve = reserveByAsset(market, a.reserve)
      if (!reserve) return
      setBit(
        position(market, a.user as string, result),
        reserve.id * 2 + 1,
        event.eventName === 'ReserveUsedAsCollateralEnabled',
      )
      return
    }
    case 'Borrow': {
      const reserve = reserveByAsset(market, a.reserve)
      if (!reserve) return
      setBit(position(market, a.onBehalfOf as string, result), reserve.id * 2, true)
      return
    }
    case 'LiquidationCall': {
      const collateral = reserveByAsset(market, a.collateralAsset)
      if (rules.liquidationUpdatesCollateralState && a.receiveAToken === true && collateral) {
        if (updateStateSilently(market, collateral, timestamp, rules))
          result.touchedReserves.add(collateral.id)
      }
      return
    }
    case 'UserEModeSet':
      position(market, a.user as string, result).eMode = Number(a.categoryId)
      return
    default:
      return
  }
}

/**
 * ReserveLogic.updateState without an event: the liquidity index grows only when the liquidity rate
 * is non-zero and the variable index only when the reserve has variable debt (its scaled total is
 * the sum of every holder's, all of whom are in the mirror); the timestamp moves either way.
 */
function updateStateSilently(
  market: MarketState,
  reserve: ReserveState,
  timestamp: bigint,
  rules: AaveRules,
) {
  if (reserve.lastUpdateTimestamp === timestamp) return false
  if (reserve.liquidityRate !== 0n) reserve.liquidityIndex = normalizedIncome(reserve, timestamp)
  let scaledDebt = 0n
  for (const p of market.accounts.values()) scaledDebt += p.scaledDebt[reserve.id] ?? 0n
  if (scaledDebt !== 0n) reserve.variableBorrowIndex = normalizedDebt(reserve, timestamp, rules)
  reserve.lastUpdateTimestamp = timestamp
  return true
}

function applyConfiguratorLog(market: MarketState, log: ChainLog, result: ApplyResult) {
  const event = decode(configuratorEventsAbi, log)
  if (!event) return
  const a = event.args
  if (event.eventName === 'EModeCategoryAdded') {
    // Emitted for a new category and for every update of an existing one (v3.2+ keeps its bitmaps).
    const id = Number(a.categoryId)
    const source = (a.oracle as string).toLowerCase() as `0x${string}`
    const previous = market.eModes.get(id)
    market.eModes.set(id, {
      ...previous,
      id,
      ltv: Number(a.ltv),
      liquidationThreshold: Number(a.liquidationThreshold),
      liquidationBonus: Number(a.liquidationBonus),
      priceSource: source,
      label: a.label as string,
    })
    // A new v3.0 price source may have no price in the mirror yet.
    if (source !== ZERO_ADDRESS && !market.prices.has(source))
      result.reloadNeeded.push(`eMode ${id} price source`)
    touchEModeMembers(market, id, result)
    return
  }
  if (
    event.eventName === 'AssetCollateralInEModeChanged' ||
    event.eventName === 'AssetLtvzeroInEModeChanged'
  ) {
    // v3.2+ (LTV-zero: v3.6): one reserve's bit in one category's bitmap.
    const reserve = reserveByAsset(market, a.asset)
    const id = Number(a.categoryId)
    const category = market.eModes.get(id)
    if (!reserve || !category) {
      result.reloadNeeded.push(`${event.eventName} for an unknown reserve or category ${id}`)
      return
    }
    const field = event.eventName === 'AssetCollateralInEModeChanged' ? 'collateralBitmap' : 'ltvzeroBitmap'
    const on = (a.collateral ?? a.ltvzero) as boolean
    const bit = 1n << BigInt(reserve.id)
    const bitmap = category[field] ?? 0n
    category[field] = on ? bitmap | bit : bitmap & ~bit
    touchEModeMembers(market, id, result)
    return
  }
  if (event.eventName === 'ReserveInitialized' || event.eventName === 'ReserveDropped') {
    result.reloadNeeded.push(`${event.eventName} ${String(a.asset)}`)
    return
  }
  const reserve = reserveByAsset(market, a.asset)
  if (!reserve) return
  switch (event.eventName) {
    case 'CollateralConfigurationChanged':
      reserve.ltv = a.ltv as bigint
      reserve.liquidationThreshold = a.liquidationThreshold as bigint
      reserve.liquidationBonus = a.liquidationBonus as bigint
      break
    case 'ReserveBorrowing':
      reserve.borrowingEnabled = a.enabled as boolean
      break
    case 'ReserveStableRateBorrowing':
      reserve.stableBorrowingEnabled = a.enabled as boolean
      break
    case 'ReserveActive':
      reserve.active = a.active as boolean
      break
    case 'ReserveFrozen':
      reserve.frozen = a.frozen as boolean
      break
    case 'ReservePaused':
      reserve.paused = a.paused as boolean
      break
    case 'ReserveFactorChanged':
      reserve.reserveFactor = a.newReserveFactor as bigint
      break
    case 'DebtCeilingChanged':
      reserve.debtCeiling = a.newDebtCeiling as bigint
      break
    case 'LiquidationProtocolFeeChanged':
      reserve.liquidationProtocolFee = a.newFee as bigint
      break
    case 'EModeAssetCategoryChanged':
      reserve.eModeCategory = Number(a.newCategoryId)
      break
    case 'LiquidationGracePeriodChanged':
      reserve.liquidationGracePeriodUntil = BigInt(a.gracePeriodUntil as number | bigint)
      break
    case 'LiquidationGracePeriodDisabled':
      reserve.liquidationGracePeriodUntil = 0n
      break
    case 'BorrowableInIsolationChanged':
      reserve.borrowableInIsolation = a.borrowable as boolean
      break
    default:
      return
  }
  result.touchedReserves.add(reserve.id)
  result.configuredReserves.add(reserve.id)
}

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'

function touchEModeMembers(market: MarketState, id: number, result: ApplyResult) {
  for (const [key, p] of market.accounts) if (p.eMode === id) result.touchedAccounts.add(key)
}

function applyOracleLog(
  market: MarketState,
  address: string,
  log: ChainLog,
  timestamp: bigint,
  result: ApplyResult,
) {
  const event = decode(oracleEventsAbi, log)
  if (!event) return
  if (event.eventName === 'AnswerUpdated') {
    // AaveOracle.getAssetPrice returns the source's latestAnswer when positive, else the fallback.
    const answer = event.args.current as bigint
    // An adapter over this feed moves with it (the block's re-read confirms it; an offline replay
    // has only this).
    for (const adapter of market.adapters.values()) {
      if (!adapter.baseFeedAliases.includes(address) || adapter.model.kind === 'opaque') continue
      adapter.model.baseAnswer = answer
      const price = modelledPrice(adapter, timestamp)
      if (price === undefined) continue
      for (const asset of adapter.assets) {
        market.prices.set(asset, price)
        result.movedPrices.add(asset)
      }
    }
    for (const asset of market.sources.get(address) ?? []) {
      if (answer > 0n) {
        market.prices.set(asset, answer)
        result.movedPrices.add(asset)
      } else {
        result.reloadNeeded.push(`non-positive answer for ${asset}`)
      }
    }
  } else if (
    event.eventName === 'AssetSourceUpdated' ||
    event.eventName === 'FallbackOracleUpdated' ||
    event.eventName === 'BaseCurrencySet'
  ) {
    // A new source (re-classified: feed, adapter), fallback or base currency: reload every price.
    result.reloadNeeded.push(event.eventName)
  }
}
