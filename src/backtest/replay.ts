/**
 * Replays a dataset block by block through the same pure code the daemon runs: applyLogs for the
 * mirror and planLiquidations for decisions (same min-profit gate, same ranking), and scores it
 * against what really happened: every LiquidationCall in the range, every opportunity nobody took.
 * Oracle updates are seen when their transaction is included (datasets carry no mempool).
 */
import { type Address, decodeEventLog, type Hex } from 'viem'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import { applyLogs } from '../../strategies/aave-v3/applyLogs.js'
import { createMarketView, userAccountData } from '../../strategies/aave-v3/math.js'
import { planLiquidations } from '../../strategies/aave-v3/plan.js'
import type { MarketState } from '../../strategies/aave-v3/state.js'
import type { ChainLog } from '../chain/types.js'
import type { Opportunity } from '../types.js'
import type { Dataset } from './dataset.js'

export interface BacktestSettings {
  minProfitBase: bigint
  /** Expected inclusion delay: opportunities are sized at header.timestamp + this. */
  blockTimeSec: bigint
  rankingTipWei: bigint
  onProgress?: ((done: number, total: number, block: bigint) => void) | undefined
}

export type MissReason = 'not tracked' | 'below min profit' | 'too late' | 'would revert'

export interface RealLiquidation {
  block: bigint
  txHash: Hex
  liquidator: Address
  user: Address
  collateralAsset: Address
  debtAsset: Address
  debtToCover: bigint
  liquidatedCollateral: bigint
  receiveAToken: boolean
  detected: boolean
  miss?: MissReason
  /** Blocks between Undertow's earliest possible inclusion and the real liquidation (≥ 0: as early or earlier). */
  leadBlocks?: number
  expectedNetBase?: bigint
}

export interface Episode {
  account: Address
  firstBlock: bigint
  lastBlock: bigint
  firstNetBase: bigint
  bestNetBase: bigint
  opportunity: Opportunity
  /** Oracle prices when it was detected (lowercase asset → base units): what the fork's result is valued at. */
  prices: Map<string, bigint>
  takenBy?: { block: bigint; liquidator: Address; txHash: Hex }
  fork?: ForkResult
}

export interface ForkResult {
  success: boolean
  repaid: bigint
  received: bigint
  gasUsed: bigint
  /** Timestamp of the fork block that carried it (the planned one, unless the node refused). */
  timestamp: bigint
  agreesWithMirror: boolean
  profitBase: bigint
  reason?: string
}

export interface BlockStat {
  block: bigint
  opportunities: number
  captures: number
  /** Accounts with debt by health factor: < 1, 1–1.05, 1.05–1.2, 1.2–2, ≥ 2 (sampled blocks only). */
  hfBuckets?: number[]
}

export interface BacktestReport {
  chainId: number
  fromBlock: bigint
  toBlock: bigint
  blocks: number
  liquidations: RealLiquidation[]
  episodes: Episode[]
  perBlock: BlockStat[]
}

const WAD = 10n ** 18n
const HF_EDGES = [WAD, (WAD * 105n) / 100n, (WAD * 120n) / 100n, 2n * WAD]

function hfBuckets(market: MarketState): number[] {
  const view = createMarketView(market, market.block.timestamp)
  const buckets = [0, 0, 0, 0, 0]
  for (const position of market.accounts.values()) {
    const data = userAccountData(view, position)
    if (data.totalDebtBase === 0n) continue
    let i = 0
    while (i < HF_EDGES.length && data.healthFactor >= (HF_EDGES[i] as bigint)) i++
    buckets[i] = (buckets[i] ?? 0) + 1
  }
  return buckets
}

export function replay(dataset: Dataset, settings: BacktestSettings): BacktestReport {
  const market: MarketState = structuredClone(dataset.initial)
  const liquidations: RealLiquidation[] = []
  const closed: Episode[] = []
  const open = new Map<string, Episode>()
  let belowMin = new Set<string>()
  const perBlock: BlockStat[] = []
  const sampleEvery = Math.max(1, Math.floor(dataset.headers.length / 200))
  let cursor = 0
  const logs = dataset.logs
  dataset.headers.forEach((header, index) => {
    const start = cursor
    while (cursor < logs.length && (logs[cursor] as ChainLog).blockNumber === header.number) cursor++
    const blockLogs = logs.slice(start, cursor)
    let captures = 0
    for (const log of blockLogs) {
      if (log.address.toLowerCase() !== market.pool.toLowerCase()) continue
      let event: { eventName: string; args: Record<string, unknown> }
      try {
        event = decodeEventLog({ abi: poolAbi, data: log.data, topics: log.topics as never }) as never
      } catch {
        continue // another Pool event: not a liquidation
      }
      if (event.eventName !== 'LiquidationCall') continue
      captures++
      const a = event.args
      const user = a.user as Address
      const key = user.toLowerCase()
      const real: RealLiquidation = {
        block: header.number,
        txHash: log.transactionHash,
        liquidator: a.liquidator as Address,
        user,
        collateralAsset: a.collateralAsset as Address,
        debtAsset: a.debtAsset as Address,
        debtToCover: a.debtToCover as bigint,
        liquidatedCollateral: a.liquidatedCollateralAmount as bigint,
        receiveAToken: a.receiveAToken as boolean,
        detected: false,
      }
      const episode = open.get(key)
      if (episode) {
        real.detected = true
        real.leadBlocks = Number(header.number - (episode.firstBlock + 1n))
        real.expectedNetBase = episode.firstNetBase
        episode.takenBy ??= { block: header.number, liquidator: real.liquidator, txHash: real.txHash }
      } else if (!market.accounts.has(key)) real.miss = 'not tracked'
      else if (belowMin.has(key)) real.miss = 'below min profit'
      else real.miss = 'too late'
      liquidations.push(real)
    }
    applyLogs(market, blockLogs, header.timestamp)
    market.block = { number: header.number, hash: header.hash, timestamp: header.timestamp }
    const opportunities = planLiquidations(market, undefined, {
      timestamp: header.timestamp + settings.blockTimeSec,
      gasPriceWei: header.baseFeePerGas + settings.rankingTipWei,
      now: () => Number(header.timestamp) * 1000,
    })
    const profitable = new Map<string, Opportunity>()
    belowMin = new Set()
    for (const o of opportunities) {
      if (o.netProfitBase >= settings.minProfitBase) profitable.set(o.account.toLowerCase(), o)
      else belowMin.add(o.account.toLowerCase())
    }
    for (const [key, episode] of open) {
      if (profitable.has(key) && !episode.takenBy) continue
      episode.lastBlock = header.number - 1n
      closed.push(episode)
      open.delete(key)
    }
    for (const [key, o] of profitable) {
      const episode = open.get(key)
      if (episode) {
        if (o.netProfitBase > episode.bestNetBase) episode.bestNetBase = o.netProfitBase
        episode.lastBlock = header.number
        continue
      }
      open.set(key, {
        account: o.account,
        firstBlock: header.number,
        lastBlock: header.number,
        firstNetBase: o.netProfitBase,
        bestNetBase: o.netProfitBase,
        opportunity: o,
        prices: new Map(market.prices),
      })
    }
    const stat: BlockStat = { block: header.number, opportunities: profitable.size, captures }
    if (index % sampleEvery === 0 || index === dataset.headers.length - 1) stat.hfBuckets = hfBuckets(market)
    perBlock.push(stat)
    settings.onProgress?.(index + 1, dataset.headers.length, header.number)
  })
  for (const episode of open.values()) closed.push(episode)
  closed.sort((a, b) =>
    a.firstBlock < b.firstBlock ? -1 : a.firstBlock > b.firstBlock ? 1 : a.account < b.account ? -1 : 1,
  )
  return {
    chainId: dataset.chainId,
    fromBlock: dataset.fromBlock,
    toBlock: dataset.toBlock,
    blocks: dataset.headers.length,
    liquidations,
    episodes: closed,
    perBlock,
  }
}
