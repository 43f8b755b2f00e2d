/** Pure: turns the mirror into the per-account report that `undertow accounts` prints. */
import { createMarketView, liquidationQuotes, userAccountData } from './math.js'
import { rulesForRevision } from './rules.js'
import type { MarketState } from './state.js'

export interface AccountReport {
  account: string
  blockNumber: string
  healthFactor: string
  totalCollateralBase: string
  totalDebtBase: string
  currentLiquidationThreshold: string
  ltv: string
  bestLiquidation?: {
    collateralAsset: string
    debtAsset: string
    debtToCover: string
    collateralReceived: string
    valueBase: string
  }
}

/** Every account with a position, sorted by health factor, lowest first. */
export function accountReports(market: MarketState, timestamp = market.block.timestamp): AccountReport[] {
  const view = createMarketView(market, timestamp, rulesForRevision(market.poolRevision))
  const rows: { hf: bigint; report: AccountReport }[] = []
  for (const [account, position] of market.accounts) {
    if (position.config === 0n) continue
    const data = userAccountData(view, position)
    const [best] = liquidationQuotes(view, position, data)
    const report: AccountReport = {
      account,
      blockNumber: market.block.number.toString(),
      healthFactor: data.healthFactor.toString(),
      totalCollateralBase: data.totalCollateralBase.toString(),
      totalDebtBase: data.totalDebtBase.toString(),
      currentLiquidationThreshold: data.currentLiquidationThreshold.toString(),
      ltv: data.ltv.toString(),
    }
    if (best) {
      report.bestLiquidation = {
        collateralAsset: best.collateralAsset,
        debtAsset: best.debtAsset,
        debtToCover: best.debtToCover.toString(),
        collateralReceived: best.collateralReceived.toString(),
        valueBase: best.bonusBase.toString(),
      }
    }
    rows.push({ hf: data.healthFactor, report })
  }
  rows.sort((a, b) => (a.hf < b.hf ? -1 : a.hf > b.hf ? 1 : a.report.account < b.report.account ? -1 : 1))
  return rows.map((r) => r.report)
}
