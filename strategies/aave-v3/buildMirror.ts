/**
 * IO: builds the mirror from logs. Loads the market at the target block, replays every relevant
 * log from `fromBlock` (chunked, adaptive), and advances block by block afterwards. No per-account
 * RPC call anywhere: positions come only from events.
 */
import { type Address, type Hex, type PublicClient, toEventSelector } from 'viem'
import { groupByBlock } from '../../src/chain/followChain.js'
import { fetchLogs, getLogsChunked } from '../../src/chain/getLogsChunked.js'
import type { ChainLog } from '../../src/chain/types.js'
import type { BlockLogs, BlockRef } from '../../src/types.js'
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
import { type ApplyResult, applyLogs, emptyResult } from './applyLogs.js'
import { loadMarket, type MarketAddresses } from './loadMarket.js'
import { adapterFeedAddresses, pollAdapters } from './priceSources.js'
import type { MarketState } from './state.js'

const FOLLOWED_EVENTS: Hex[] = [
  ...poolAbi,
  ...scaledTokenAbi,
  ...stableDebtTokenAbi,
  ...poolConfiguratorAbi,
  ...aaveOracleAbi,
  ...aggregatorAbi,
  ...addressesProviderAbi,
  ...proxyAbi,
]
  .filter((item) => item.type === 'event')
  .map((item) => toEventSelector(item as never))

/** Every contract whose logs the mirror follows. */
export function watchedAddresses(market: MarketState): Address[] {
  return [
    market.pool,
    market.addressesProvider,
    market.configurator,
    market.oracle,
    ...([...market.tokens.keys()] as Address[]),
    ...([...market.sources.keys()] as Address[]),
    ...([...adapterFeedAddresses(market)] as Address[]),
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
  const loadedAdapters = structuredClone(market.adapters)
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
  market.adapters = loadedAdapters
  return { market, logRequests: requests }
}

/**
 * Applies blocks' logs in order and moves the mirror to `head`. Reloads the market configuration
 * when a log asked for it (a new reserve or price source), keeping every position; without a node
 * (an offline replay) the reload is skipped and reported in `reloadNeeded`.
 */
export async function applyBlocks(
  client: PublicClient | undefined,
  market: MarketState,
  blocks: readonly BlockLogs[],
  head: BlockRef,
  params: MarketAddresses,
  beforeTouch?: ApplyResult['beforeTouch'],
): Promise<ApplyResult> {
  const result = emptyResult()
  if (beforeTouch) result.beforeTouch = beforeTouch
  for (const block of blocks) applyLogs(market, block.logs, block.timestamp, result)
  if (result.reloadNeeded.length > 0 && client) {
    // A new Pool implementation may be another version: loadMarket re-probes the revision (and
    // refuses one it has no rules for); a changed revision needs the history replayed by its rules.
    const fresh = await loadMarket(client, { ...params, blockNumber: head.number })
    if (fresh.poolRevision !== market.poolRevision || fresh.pool !== market.pool) {
      result.rebuildNeeded = `Pool ${market.pool} revision ${market.poolRevision} → ${fresh.pool} revision ${fresh.poolRevision}`
      return result
    }
    market.oracle = fresh.oracle
    market.configurator = fresh.configurator
    if (fresh.nativeAsset) market.nativeAsset = fresh.nativeAsset
    market.reserves = fresh.reserves
    market.tokens = fresh.tokens
    market.eModes = fresh.eModes
    market.prices = fresh.prices
    market.sources = fresh.sources
    market.adapters = fresh.adapters
    for (const key of market.accounts.keys()) result.touchedAccounts.add(key)
  }
  market.block = { number: head.number, hash: head.hash, timestamp: head.timestamp }
  if (client && market.adapters.size > 0) {
    // Adapters move without events: re-read them at the head (one batched call).
    const polled = await pollAdapters(client, market, {
      blockNumber: head.number,
      timestamp: head.timestamp,
      multicallAddress: params.multicallAddress,
    })
    for (const asset of polled.moved) result.movedPrices.add(asset)
    result.adapterDisagreements = polled.disagreements
  }
  return result
}

/** Advances the mirror to `toBlock` on its own (tests and tools; the daemon goes through src/chain). */
export async function advanceMirror(
  client: PublicClient,
  market: MarketState,
  toBlock: bigint,
  params: MarketAddresses,
): Promise<ApplyResult> {
  if (toBlock <= market.block.number) return emptyResult()
  const logs = await fetchLogs(
    client,
    watchedAddresses(market),
    followedEvents(),
    market.block.number + 1n,
    toBlock,
  )
  const block = await client.getBlock({ blockNumber: toBlock })
  return applyBlocks(
    client,
    market,
    await groupByBlock(client, logs),
    { number: toBlock, hash: block.hash, timestamp: block.timestamp },
    params,
  )
}
