/**
 * Price sources that move without an event. Production Aave prices LSTs and stablecoins through
 * adapters (CAPO: an underlying USD feed × an exchange rate read from another contract, capped; or an
 * underlying feed capped at a fixed price). Such a source emits nothing when its rate moves and no
 * AnswerUpdated of its own when its underlying feed moves, so the mirror re-reads it every block
 * (one batched call for all of them) and, where its price is a known function of an underlying feed,
 * models that function so a pending update of the feed predicts it too.
 *
 * Classification (at load, IO) and polling (each block, IO) are here; the models are pure.
 */
import { type Address, type PublicClient, parseAbi, zeroAddress } from 'viem'
import { type ReadCall, readMany } from '../../src/chain/readMany.js'
import { aaveOracleAbi } from './abi.js'
import type { MarketState } from './state.js'

export const adapterAbi = parseAbi([
  'function aggregator() view returns (address)',
  'function latestRound() view returns (uint256)',
  'function latestAnswer() view returns (int256)',
  // CAPO ratio adapters (PriceCapAdapterBase)
  'function BASE_TO_USD_AGGREGATOR() view returns (address)',
  'function RATIO_DECIMALS() view returns (uint8)',
  'function getRatio() view returns (int256)',
  'function getSnapshotRatio() view returns (uint256)',
  'function getSnapshotTimestamp() view returns (uint256)',
  'function getMaxRatioGrowthPerSecond() view returns (uint256)',
  // CAPO stable adapters (PriceCapAdapterStable)
  'function ASSET_TO_USD_AGGREGATOR() view returns (address)',
  'function getPriceCap() view returns (int256)',
])

/** The price function of an adapter whose inputs the mirror re-reads each block. */
export type AdapterModel =
  | {
      kind: 'ratio'
      ratioDecimals: number
      ratio: bigint
      baseAnswer: bigint
      snapshotRatio: bigint
      snapshotTimestamp: bigint
      growthPerSecond: bigint
    }
  | { kind: 'stable-cap'; baseAnswer: bigint; cap: bigint }
  /** A source we cannot model: re-read each block, no prediction. */
  | { kind: 'opaque' }

export interface AdapterSource {
  /** The source's lowercase address (what AaveOracle.getSourceOfAsset returns). */
  address: string
  /** Lowercase assets it prices. */
  assets: string[]
  /** The underlying feed's canonical key (its lowercase address), when the model has one. */
  baseFeed?: string
  /** Addresses whose pending transactions move the underlying feed (the proxy and its aggregator). */
  baseFeedAliases: string[]
  model: AdapterModel
  /** False once the model disagreed with the oracle: it is then only re-read, never extrapolated. */
  modelAgrees: boolean
}

/**
 * CAPO's ratio adapter: base × min(ratio, snapshot + growth × (t − snapshotTime)) / 10^decimals,
 * 0 when either input is not positive (AaveOracle then asks its fallback). Undefined where the
 * contract would revert (a timestamp before the snapshot underflows).
 */
export function adapterPriceAt(
  model: AdapterModel,
  baseAnswer: bigint,
  timestamp: bigint,
): bigint | undefined {
  if (model.kind === 'opaque') return undefined
  if (model.kind === 'stable-cap') {
    if (baseAnswer > model.cap) return model.cap
    return baseAnswer <= 0n ? 0n : baseAnswer
  }
  if (baseAnswer <= 0n || model.ratio <= 0n) return 0n
  if (timestamp < model.snapshotTimestamp) return undefined
  const cap = model.snapshotRatio + model.growthPerSecond * (timestamp - model.snapshotTimestamp)
  let ratio = model.ratio
  if (cap < ratio) ratio = cap
  return (baseAnswer * ratio) / 10n ** BigInt(model.ratioDecimals)
}

/** The adapter's price at `timestamp` from its model (undefined: no usable model; keep the polled price). */
export function modelledPrice(
  source: AdapterSource,
  timestamp: bigint,
  baseOverride?: bigint | undefined,
): bigint | undefined {
  if (!source.modelAgrees || source.model.kind === 'opaque') return undefined
  const price = adapterPriceAt(source.model, baseOverride ?? source.model.baseAnswer, timestamp)
  // Zero sends AaveOracle to its fallback oracle: not modelled.
  return price === undefined || price <= 0n ? undefined : price
}

type Read = ReadCall

const isAddressResult = (v: unknown): v is Address => typeof v === 'string' && v !== zeroAddress
const isBig = (v: unknown): v is bigint => typeof v === 'bigint'

/**
 * Classifies every source: a Chainlink proxy or aggregator (emits AnswerUpdated: followed by logs),
 * a CAPO ratio or stable adapter (modelled and re-read), or anything else (re-read). Returns the
 * adapters; `events` gets the event-emitting addresses to follow (proxies' aggregators).
 */
export async function classifySources(
  client: PublicClient,
  sources: Map<string, string[]>,
  opts: { multicallAddress?: Address | undefined; blockNumber: bigint },
): Promise<{ adapters: Map<string, AdapterSource>; aggregators: Map<string, string> }> {
  const addresses = [...sources.keys()] as Address[]
  const probes: Read[] = addresses.flatMap((address) => [
    { address, abi: adapterAbi, functionName: 'BASE_TO_USD_AGGREGATOR' },
    { address, abi: adapterAbi, functionName: 'RATIO_DECIMALS' },
    { address, abi: adapterAbi, functionName: 'ASSET_TO_USD_AGGREGATOR' },
    { address, abi: adapterAbi, functionName: 'aggregator' },
    { address, abi: adapterAbi, functionName: 'latestRound' },
  ])
  const answers = await readMany(client, probes, opts)
  const adapters = new Map<string, AdapterSource>()
  /** proxy → its aggregator (events and pending transmits come from the aggregator). */
  const aggregators = new Map<string, string>()
  const baseFeeds = new Set<string>()
  addresses.forEach((address, i) => {
    const [ratioBase, ratioDecimals, stableBase, aggregator, latestRound] = answers.slice(i * 5, i * 5 + 5)
    const key = address.toLowerCase()
    const assets = sources.get(key) ?? []
    if (isAddressResult(ratioBase) && typeof ratioDecimals === 'number') {
      const baseFeed = ratioBase.toLowerCase()
      baseFeeds.add(baseFeed)
      adapters.set(key, {
        address: key,
        assets,
        baseFeed,
        baseFeedAliases: [baseFeed],
        model: {
          kind: 'ratio',
          ratioDecimals,
          ratio: 0n,
          baseAnswer: 0n,
          snapshotRatio: 0n,
          snapshotTimestamp: 0n,
          growthPerSecond: 0n,
        },
        modelAgrees: true,
      })
    } else if (isAddressResult(stableBase)) {
      const baseFeed = stableBase.toLowerCase()
      baseFeeds.add(baseFeed)
      adapters.set(key, {
        address: key,
        assets,
        baseFeed,
        baseFeedAliases: [baseFeed],
        model: { kind: 'stable-cap', baseAnswer: 0n, cap: 0n },
        modelAgrees: true,
      })
    } else if (isAddressResult(aggregator)) {
      if (aggregator.toLowerCase() !== key) aggregators.set(key, aggregator.toLowerCase())
    } else if (!isBig(latestRound)) {
      // Neither a proxy nor an aggregator: some other adapter. Re-read it every block.
      adapters.set(key, {
        address: key,
        assets,
        baseFeedAliases: [],
        model: { kind: 'opaque' },
        modelAgrees: false,
      })
    }
  })
  // An adapter's underlying feed is usually a proxy too: a pending transmit goes to its aggregator.
  const feeds = [...baseFeeds].filter((feed) => !aggregators.has(feed))
  const feedAggregators = await readMany(
    client,
    feeds.map((feed): Read => ({ address: feed as Address, abi: adapterAbi, functionName: 'aggregator' })),
    opts,
  )
  feeds.forEach((feed, i) => {
    const target = feedAggregators[i]
    if (isAddressResult(target) && target.toLowerCase() !== feed) aggregators.set(feed, target.toLowerCase())
  })
  for (const adapter of adapters.values()) {
    const behind = adapter.baseFeed ? aggregators.get(adapter.baseFeed) : undefined
    if (behind) adapter.baseFeedAliases.push(behind)
  }
  return { adapters, aggregators }
}

/** One read set per adapter: the oracle's price of each asset, then the model's inputs. */
function pollReads(market: MarketState, adapter: AdapterSource): Read[] {
  const oracle = market.oracle
  const source = adapter.address as Address
  const reads: Read[] = adapter.assets.map((asset) => ({
    address: oracle,
    abi: aaveOracleAbi,
    functionName: 'getAssetPrice',
    args: [asset],
  }))
  const base = adapter.baseFeed as Address
  if (adapter.model.kind === 'ratio')
    reads.push(
      { address: source, abi: adapterAbi, functionName: 'getRatio' },
      { address: base, abi: adapterAbi, functionName: 'latestAnswer' },
      { address: source, abi: adapterAbi, functionName: 'getSnapshotRatio' },
      { address: source, abi: adapterAbi, functionName: 'getSnapshotTimestamp' },
      { address: source, abi: adapterAbi, functionName: 'getMaxRatioGrowthPerSecond' },
    )
  else if (adapter.model.kind === 'stable-cap')
    reads.push(
      { address: base, abi: adapterAbi, functionName: 'latestAnswer' },
      { address: source, abi: adapterAbi, functionName: 'getPriceCap' },
    )
  return reads
}

export interface PollResult {
  /** Lowercase assets whose price changed. */
  moved: Set<string>
  /** Adapters whose model stopped agreeing with the oracle at this block (logged by the caller). */
  disagreements: { source: string; asset: string; oracle: bigint; model: bigint | undefined }[]
}

/**
 * Re-reads every adapter at `blockNumber` in one batched call and updates prices and models in place.
 * A read that fails throws: a block must not be taken as applied with stale prices.
 */
export async function pollAdapters(
  client: PublicClient,
  market: MarketState,
  at: { blockNumber: bigint; timestamp: bigint; multicallAddress?: Address | undefined },
): Promise<PollResult> {
  const result: PollResult = { moved: new Set(), disagreements: [] }
  const adapters = [...market.adapters.values()]
  if (adapters.length === 0) return result
  const plans = adapters.map((adapter) => pollReads(market, adapter))
  const answers = await readMany(client, plans.flat(), {
    multicallAddress: at.multicallAddress,
    blockNumber: at.blockNumber,
  })
  let offset = 0
  adapters.forEach((adapter, i) => {
    const values = answers.slice(offset, offset + (plans[i] as Read[]).length)
    offset += (plans[i] as Read[]).length
    const failed = values.find((v) => v instanceof Error)
    if (failed) throw failed
    const prices = values.slice(0, adapter.assets.length) as bigint[]
    const inputs = values.slice(adapter.assets.length) as bigint[]
    const model = adapter.model
    if (model.kind === 'ratio') {
      const [ratio, base, snapshotRatio, snapshotTimestamp, growth] = inputs as [
        bigint,
        bigint,
        bigint,
        bigint,
        bigint,
      ]
      Object.assign(model, {
        ratio,
        baseAnswer: base,
        snapshotRatio,
        snapshotTimestamp,
        growthPerSecond: growth,
      })
    } else if (model.kind === 'stable-cap') {
      const [base, cap] = inputs as [bigint, bigint]
      Object.assign(model, { baseAnswer: base, cap })
    }
    adapter.assets.forEach((asset, j) => {
      const price = prices[j] as bigint
      if (market.prices.get(asset) !== price) {
        market.prices.set(asset, price)
        result.moved.add(asset)
      }
      if (model.kind === 'opaque') return
      const modelled = adapterPriceAt(model, model.baseAnswer, at.timestamp)
      const agrees = modelled === price
      if (adapter.modelAgrees && !agrees)
        result.disagreements.push({ source: adapter.address, asset, oracle: price, model: modelled })
      adapter.modelAgrees = agrees
    })
  })
  return result
}

/** Addresses whose pending transactions can move an adapter's price (its underlying feed). */
export function adapterFeedAddresses(market: MarketState): Set<string> {
  const out = new Set<string>()
  for (const adapter of market.adapters.values()) for (const a of adapter.baseFeedAliases) out.add(a)
  return out
}

/** The canonical underlying-feed keys a pending transaction to `to` updates. */
export function feedKeysFor(market: MarketState, to: string): string[] {
  const keys = new Set<string>()
  for (const adapter of market.adapters.values())
    if (adapter.baseFeed && adapter.baseFeedAliases.includes(to)) keys.add(adapter.baseFeed)
  return [...keys]
}

/**
 * The prices to plan with at `timestamp`: the mirror's, each modelled adapter at that time (a capped
 * rate grows per second), a pending underlying-feed answer carried through its adapter, and pending
 * direct answers on top. `predicted` keys are assets or underlying-feed keys.
 */
export function pricesAt(
  market: MarketState,
  timestamp: bigint,
  predicted?: ReadonlyMap<string, bigint> | undefined,
): Map<string, bigint> {
  if (market.adapters.size === 0 && !predicted) return market.prices
  const prices = new Map(market.prices)
  for (const adapter of market.adapters.values()) {
    const base = adapter.baseFeed ? predicted?.get(adapter.baseFeed) : undefined
    const price = modelledPrice(adapter, timestamp, base)
    if (price !== undefined) for (const asset of adapter.assets) prices.set(asset, price)
  }
  if (predicted)
    for (const [key, price] of predicted)
      if (market.reserves.has(key) || isEModeSource(market, key)) prices.set(key, price)
  return prices
}

function isEModeSource(market: MarketState, key: string): boolean {
  for (const category of market.eModes.values()) if (category.priceSource === key) return true
  return false
}

/** Assets whose price a set of predicted keys moves (feed keys expand to their adapters' assets). */
export function assetsMovedBy(market: MarketState, keys: Iterable<string>): Set<string> {
  const out = new Set<string>()
  for (const key of keys) {
    out.add(key)
    for (const adapter of market.adapters.values())
      if (adapter.baseFeed === key) for (const asset of adapter.assets) out.add(asset)
  }
  return out
}
