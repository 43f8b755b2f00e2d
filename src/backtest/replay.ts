/**
 * Replays a dataset block by block through the Strategy interface, the same calls the daemon makes
 * (advance for the mirror, plan for decisions, same min-profit gate and ranking), and scores it
 * against what really happened: every liquidation in the range, every opportunity nobody took.
 * Oracle updates are seen when their transaction is included (datasets carry no mempool).
 */
import type { Address, Hex } from 'viem'
import type { ChainLog } from '../chain/types.js'
import type { Details, Opportunity, Strategy } from '../types.js'
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
  /** What it did, for people ("1,000 DAI → 0.6 WETH"). */
  summary: string
  /** The strategy's exact amounts. */
  details: Details
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
  /** Value of 1e18 wei of gas token when it was detected: what the fork's gas is valued at. */
  nativePriceBase: bigint
  takenBy?: { block: bigint; liquidator: Address; txHash: Hex }
  fork?: ForkResult
}

export interface ForkResult {
  success: boolean
  /** The landed liquidation's exact amounts. */
  details?: Details
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
  strategy: string
  /** Base unit = USD × 10^baseDecimals. */
  baseDecimals: number
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

function hfBuckets(strategy: Strategy, timestamp: bigint): number[] {
  const buckets = [0, 0, 0, 0, 0]
  for (const hf of strategy.healthFactors(timestamp)) {
    let i = 0
    while (i < HF_EDGES.length && hf >= (HF_EDGES[i] as bigint)) i++
    buckets[i] = (buckets[i] ?? 0) + 1
  }
  return buckets
}

/** `strategy` must be restored at the dataset's first block (it is advanced through every header). */
export async function replay(
  strategy: Strategy,
  dataset: Dataset,
  settings: BacktestSettings,
): Promise<BacktestReport> {
  const liquidations: RealLiquidation[] = []
  const closed: Episode[] = []
  const open = new Map<string, Episode>()
  let belowMin = new Set<string>()
  const perBlock: BlockStat[] = []
  const sampleEvery = Math.max(1, Math.floor(dataset.headers.length / 200))
  let cursor = 0
  const logs = dataset.logs
  for (const [index, header] of dataset.headers.entries()) {
    const start = cursor
    while (cursor < logs.length && (logs[cursor] as ChainLog).blockNumber === header.number) cursor++
    const blockLogs = logs.slice(start, cursor)
    const events = strategy.liquidationsIn(blockLogs)
    for (const event of events) {
      const key = event.account.toLowerCase()
      const real: RealLiquidation = {
        block: header.number,
        txHash: event.txHash,
        liquidator: event.liquidator,
        user: event.account,
        summary: event.summary,
        details: event.details,
        detected: false,
      }
      const episode = open.get(key)
      if (episode) {
        real.detected = true
        real.leadBlocks = Number(header.number - (episode.firstBlock + 1n))
        real.expectedNetBase = episode.firstNetBase
        episode.takenBy ??= { block: header.number, liquidator: real.liquidator, txHash: real.txHash }
      } else if (!strategy.isTracked(key)) real.miss = 'not tracked'
      else if (belowMin.has(key)) real.miss = 'below min profit'
      else real.miss = 'too late'
      liquidations.push(real)
    }
    await strategy.advance(
      blockLogs.length > 0 ? [{ number: header.number, timestamp: header.timestamp, logs: blockLogs }] : [],
      header,
    )
    const opportunities = strategy.plan({
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
    const nativePriceBase = profitable.size > 0 ? strategy.nativePriceBase() : 0n
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
        nativePriceBase,
      })
    }
    const stat: BlockStat = { block: header.number, opportunities: profitable.size, captures: events.length }
    if (index % sampleEvery === 0 || index === dataset.headers.length - 1)
      stat.hfBuckets = hfBuckets(strategy, header.timestamp)
    perBlock.push(stat)
    settings.onProgress?.(index + 1, dataset.headers.length, header.number)
  }
  for (const episode of open.values()) closed.push(episode)
  closed.sort((a, b) =>
    a.firstBlock < b.firstBlock ? -1 : a.firstBlock > b.firstBlock ? 1 : a.account < b.account ? -1 : 1,
  )
  return {
    strategy: strategy.name,
    baseDecimals: strategy.baseDecimals,
    chainId: dataset.chainId,
    fromBlock: dataset.fromBlock,
    toBlock: dataset.toBlock,
    blocks: dataset.headers.length,
    liquidations,
    episodes: closed,
    perBlock,
  }
}
