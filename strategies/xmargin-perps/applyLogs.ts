/**
 * Pure: applies the clearinghouse's and Pyth's logs to the mirror, in log order. Every clearinghouse
 * event carries the resulting state (balances, position, settlement), so nothing is recomputed
 * here; prices come from Pyth's PriceFeedUpdate (stored only when newer, as MockPyth and Pyth do).
 */
import { decodeEventLog, type Hex } from 'viem'
import type { ChainLog } from '../../src/chain/types.js'
import { clearinghouseAbi, pythAbi } from './abi.js'
import { toWad } from './math.js'
import { type AccountState, emptyAccount, type PerpsState } from './state.js'

export interface PerpsApplyResult {
  touchedAccounts: Set<string>
  /** Lowercase feed ids whose stored price changed. */
  movedFeeds: Set<string>
  /** A market or collateral was added: the configuration must be read again. */
  reloadNeeded: boolean
  /** A funding rate or volatility changed: every account with a position in it may move. */
  marketsChanged: Set<number>
  collateralsChanged: Set<number>
}

export const emptyPerpsResult = (): PerpsApplyResult => ({
  touchedAccounts: new Set(),
  movedFeeds: new Set(),
  reloadNeeded: false,
  marketsChanged: new Set(),
  collateralsChanged: new Set(),
})

function account(state: PerpsState, address: string, result: PerpsApplyResult): AccountState {
  const key = address.toLowerCase()
  result.touchedAccounts.add(key)
  let a = state.accounts.get(key)
  if (!a) {
    a = emptyAccount()
    state.accounts.set(key, a)
  }
  return a
}

function setPosition(
  a: AccountState,
  marketId: number,
  size: bigint,
  openNotional: bigint,
  entryFundingIndex: bigint,
) {
  if (size === 0n) a.positions.delete(marketId)
  else a.positions.set(marketId, { size, openNotional, entryFundingIndex })
}

export function applyLogs(
  state: PerpsState,
  logs: readonly ChainLog[],
  result: PerpsApplyResult = emptyPerpsResult(),
): PerpsApplyResult {
  const clearinghouse = state.clearinghouse.toLowerCase()
  const pyth = state.pyth.toLowerCase()
  for (const log of logs) {
    const address = log.address.toLowerCase()
    const topics = log.topics as [Hex, ...Hex[]]
    if (address === pyth) {
      const e = decodeEventLog({ abi: pythAbi, data: log.data, topics, strict: true })
      if (e.eventName !== 'PriceFeedUpdate') continue
      const id = e.args.id.toLowerCase()
      const expo = state.expos.get(id)
      if (expo === undefined) continue // a feed the clearinghouse does not use
      const wad = toWad(e.args.price, expo)
      const current = state.prices.get(id)
      if (wad === undefined || (current && current.publishTime >= e.args.publishTime)) continue
      state.prices.set(id, { priceWad: wad, publishTime: e.args.publishTime })
      result.movedFeeds.add(id)
      continue
    }
    if (address !== clearinghouse) continue
    const e = decodeEventLog({ abi: clearinghouseAbi, data: log.data, topics, strict: true })
    switch (e.eventName) {
      case 'Deposited':
      case 'Withdrawn':
        account(state, e.args.account, result).balances.set(Number(e.args.assetId), e.args.newBalance)
        break
      case 'PositionModified': {
        const a = account(state, e.args.account, result)
        setPosition(
          a,
          Number(e.args.marketId),
          e.args.newSize,
          e.args.newOpenNotional,
          e.args.entryFundingIndex,
        )
        a.settlement = e.args.newSettlementBalance
        break
      }
      case 'Liquidated': {
        const a = account(state, e.args.account, result)
        setPosition(
          a,
          Number(e.args.marketId),
          e.args.newSize,
          e.args.newOpenNotional,
          e.args.entryFundingIndex,
        )
        a.settlement = e.args.newSettlementBalance
        account(state, e.args.liquidator, result).settlement = e.args.liquidatorSettlementBalance
        state.insuranceFund -= e.args.fromInsurance
        break
      }
      case 'InsuranceFunded':
        state.insuranceFund = e.args.newBalance
        break
      case 'FundingRateSet': {
        const m = state.markets[Number(e.args.marketId)]
        if (!m) {
          result.reloadNeeded = true
          break
        }
        m.fundingRatePerSecond = e.args.ratePerSecond
        m.fundingIndex = e.args.fundingIndex
        m.lastFundingUpdate = e.args.timestamp
        result.marketsChanged.add(m.marketId)
        break
      }
      case 'VolatilitySet': {
        const id = Number(e.args.id)
        const target = e.args.isMarket ? state.markets[id] : state.collaterals[id]
        if (!target) {
          result.reloadNeeded = true
          break
        }
        target.volatilityBps = e.args.volatilityBps
        if (e.args.isMarket) result.marketsChanged.add(id)
        else result.collateralsChanged.add(id)
        break
      }
      case 'CollateralAdded':
      case 'MarketAdded':
        result.reloadNeeded = true
        break
      default:
        break
    }
  }
  return result
}
