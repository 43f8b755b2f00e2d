/**
 * IO: builds the mirror from logs. Loads the market at the target block, replays every relevant
 * log from `fromBlock` (chunked, adaptive), and advances block by block afterwards. No per-account
 * RPC call anywhere: positions come only from events.
 */
import { type Address, type Hex, type PublicClient, toEventSelector } from 'viem'
import { fetchLogs, getLogsChunked } from '../../src/chain/getLogsChunked.js'
import type { ChainLog } from '../../src/chain/types.js'
import {
  aaveOracleAbi,
  aggregatorAbi,
  poolAbi,
  poolConfiguratorAbi,
  scaledTokenAbi,
  stableDebtTokenAbi,
} from './abi.js'
import { type ApplyResult, applyLogs, emptyResult } from './applyLogs.js'
import { loadMarket, type MarketAddresses } from './loadMarket.js'
import type { BlockRef, MarketState } from './state.js'

const FOLLOWED_EVENTS: Hex[] = [
  ...poolAbi,
  ...scaledTokenAbi,
  ...stableDebtTokenAbi,
  ...poolConfiguratorAbi,
  ...aaveOracleAbi,
  ...aggregatorAbi,
]
  .filter((item) => item.type === 'event')
  .map((item) => toEventSelector(item as never))

/** Every contract whose logs the mirror follows. */
export function watchedAddresses(market: MarketState): Address[] {
  return [
    market.pool,
    market.configurator,
    market.oracle,
    ...([...market.tokens.keys()] as Address[]),
    ...([...market.sources.keys()] as Address[]),
  ]
}

export const followedEvents = (): Hex[] => [...new Set(FOLLOWED_EVENTS)]

/** Groups logs by block and applies them in order, fetching headers only where the node gave no timestamp. */
export async function applyLogBatch(
  client: PublicClient,
  market: MarketState,
  logs: ChainLog[],
  result: ApplyResult,
): Promise<void> {
  let i = 0
  while (i < logs.length) {
    const first = logs[i] as ChainLog
    let j = i
    while (j < logs.length && (logs[j] as ChainLog).blockNumber === first.blockNumber) j++
    const timestamp =
      first.blockTimestamp ?? (await client.getBlock({ blockNumber: first.blockNumber })).timestamp
    applyLogs(market, logs.slice(i, j), timestamp, result)
    i = j
  }
}

export interface BuildMirrorParams extends MarketAddresses {
  fromBlock: bigint
  toBlock?: bigint
  onProgress?(block: bigint, toBlock: bigint): void
}

export async function buildMirror(
  client: PublicClient,
  params: BuildMirrorParams,
): Promise<{ market: MarketState; logRequests: number }> {
  const toBlock = params.toBlock ?? (await client.getBlockNumber({ cacheTime: 0 }))
  const market = await loadMarket(client, { ...params, blockNumber: toBlock })
  const loadedPrices = new Map(market.prices)
  const result = emptyResult()
  const { requests } = await getLogsChunked(client, {
    address: watchedAddresses(market),
    events: followedEvents(),
    fromBlock: params.fromBlock,
    toBlock,
    onChunk: async (logs, _from, to) => {
      await applyLogBatch(client, market, logs, result)
      params.onProgress?.(to, toBlock)
    },
  })
  // Prices at the target block are the truth; replayed answers may come from feeds no longer in use.
  market.prices = loadedPrices
  return { market, logRequests: requests }
}

/**
 * Advances the mirror to `toBlock` with one eth_getLogs. Reloads the market configuration if a log
 * asked for it (a new reserve or price source), keeping every position.
 */
export async function advanceMirror(
  client: PublicClient,
  market: MarketState,
  toBlock: bigint,
  params: MarketAddresses,
  header?: BlockRef,
): Promise<ApplyResult> {
  const result = emptyResult()
  if (toBlock <= market.block.number) return result
  const logs = await fetchLogs(
    client,
    watchedAddresses(market),
    followedEvents(),
    market.block.number + 1n,
    toBlock,
  )
  await applyLogBatch(client, market, logs, result)
  if (result.reloadNeeded.length > 0) {
    const fresh = await loadMarket(client, { ...params, blockNumber: toBlock })
    market.reserves = fresh.reserves
    market.tokens = fresh.tokens
    market.eModes = fresh.eModes
    market.prices = fresh.prices
    market.sources = fresh.sources
    for (const key of market.accounts.keys()) result.touchedAccounts.add(key)
  }
  if (header && header.number === toBlock) {
    market.block = { number: header.number, hash: header.hash, timestamp: header.timestamp }
  } else {
    const block = await client.getBlock({ blockNumber: toBlock })
    market.block = { number: toBlock, hash: block.hash, timestamp: block.timestamp }
  }
  return result
}
