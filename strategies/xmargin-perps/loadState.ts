/**
 * IO: reads the clearinghouse's configuration and Pyth's stored prices at a block, and builds the
 * mirror from logs (positions and balances come only from events; no per-account call).
 */
import { type Address, type Hex, type PublicClient, toEventSelector } from 'viem'
import { groupByBlock } from '../../src/chain/followChain.js'
import { getLogsChunked } from '../../src/chain/getLogsChunked.js'
import { readMany } from '../../src/chain/readMany.js'
import { clearinghouseAbi, pythAbi } from './abi.js'
import { applyLogs } from './applyLogs.js'
import { toWad } from './math.js'
import type { CollateralState, MarketState, PerpsState } from './state.js'

export interface PerpsAddresses {
  clearinghouse: Address
  multicallAddress?: Address | undefined
  /** Names for people: collateral token (lowercase) and market id → symbol (from the devnet file). */
  symbols?: { collaterals: Record<string, string>; markets: Record<string, string> } | undefined
}

export const FOLLOWED_EVENTS: Hex[] = [...clearinghouseAbi, ...pythAbi]
  .filter((item) => item.type === 'event')
  .map((item) => toEventSelector(item))

export function watchedAddresses(state: PerpsState): Address[] {
  return [state.clearinghouse, state.pyth]
}

/** Configuration and prices at `blockNumber`, with no accounts. */
export async function loadConfiguration(
  client: PublicClient,
  params: PerpsAddresses & { blockNumber: bigint },
): Promise<PerpsState> {
  const at = { blockNumber: params.blockNumber }
  const address = params.clearinghouse
  const call = { address, abi: clearinghouseAbi, ...at } as const
  const [
    pyth,
    maxPriceAge,
    bonusBps,
    bufferBps,
    minAccountMargin,
    insuranceFund,
    collateralCount,
    marketCount,
  ] = await Promise.all([
    client.readContract({ ...call, functionName: 'pyth' }),
    client.readContract({ ...call, functionName: 'maxPriceAge' }),
    client.readContract({ ...call, functionName: 'bonusBps' }),
    client.readContract({ ...call, functionName: 'bufferBps' }),
    client.readContract({ ...call, functionName: 'minAccountMargin' }),
    client.readContract({ ...call, functionName: 'insuranceFund' }),
    client.readContract({ ...call, functionName: 'collateralCount' }),
    client.readContract({ ...call, functionName: 'marketCount' }),
  ])
  const collaterals: CollateralState[] = []
  for (let i = 0; i < Number(collateralCount); i++) {
    const c = await client.readContract({
      address,
      abi: clearinghouseAbi,
      functionName: 'getCollateral',
      args: [BigInt(i)],
      ...at,
    })
    collaterals.push({
      assetId: i,
      token: c.token,
      symbol: params.symbols?.collaterals[c.token.toLowerCase()] ?? `asset${i}`,
      decimals: c.decimals,
      feedId: c.feedId,
      baseHaircutBps: c.baseHaircutBps,
      volHaircutFactorBps: c.volHaircutFactorBps,
      maxHaircutBps: c.maxHaircutBps,
      volatilityBps: c.volatilityBps,
    })
  }
  const markets: MarketState[] = []
  for (let i = 0; i < Number(marketCount); i++) {
    const m = await client.readContract({
      address,
      abi: clearinghouseAbi,
      functionName: 'getMarket',
      args: [BigInt(i)],
      ...at,
    })
    const bands = []
    for (let k = 0; k < Number(m.bandCount); k++)
      bands.push(
        await client.readContract({
          address,
          abi: clearinghouseAbi,
          functionName: 'getBand',
          args: [BigInt(i), BigInt(k)],
          ...at,
        }),
      )
    markets.push({
      marketId: i,
      symbol: params.symbols?.markets[String(i)] ?? `market${i}`,
      feedId: m.feedId,
      volMarginFactorBps: m.volMarginFactorBps,
      volatilityBps: m.volatilityBps,
      fundingRatePerSecond: m.fundingRatePerSecond,
      fundingIndex: m.fundingIndex,
      lastFundingUpdate: m.lastFundingUpdate,
      maxLiquidationNotional: m.maxLiquidationNotional,
      bands: bands.map((b) => ({ ...b })),
    })
  }
  const feeds = [...new Set([...collaterals.map((c) => c.feedId), ...markets.map((m) => m.feedId)])]
  const stored = await readMany(
    client,
    feeds.map((id) => ({ address: pyth, abi: pythAbi, functionName: 'getPriceUnsafe', args: [id] })),
    { multicallAddress: params.multicallAddress, blockNumber: params.blockNumber },
  )
  const expos = new Map<string, number>()
  const prices = new Map<string, { priceWad: bigint; publishTime: bigint }>()
  feeds.forEach((id, i) => {
    const r = stored[i] as { price: bigint; expo: number; publishTime: bigint } | Error
    if (r instanceof Error) return // A feed never pushed: the contract would revert too.
    expos.set(id.toLowerCase(), r.expo)
    const wad = toWad(r.price, r.expo)
    if (wad !== undefined) prices.set(id.toLowerCase(), { priceWad: wad, publishTime: r.publishTime })
  })
  const updateFeeWei = await client.readContract({
    address: pyth,
    abi: pythAbi,
    functionName: 'getUpdateFee',
    args: [['0x']],
    ...at,
  })
  const block = await client.getBlock({ blockNumber: params.blockNumber })
  return {
    clearinghouse: address,
    pyth,
    params: { maxPriceAge, bonusBps, bufferBps, minAccountMargin },
    insuranceFund,
    updateFeeWei,
    collaterals,
    markets,
    expos,
    prices,
    accounts: new Map(),
    block: { number: block.number, hash: block.hash, timestamp: block.timestamp },
  }
}

/** The mirror at `toBlock` (default: the head): configuration read there, accounts from every log since `fromBlock`. */
export async function buildPerpsMirror(
  client: PublicClient,
  params: PerpsAddresses & { fromBlock: bigint; toBlock?: bigint | undefined },
): Promise<PerpsState> {
  const toBlock = params.toBlock ?? (await client.getBlockNumber({ cacheTime: 0 }))
  const state = await loadConfiguration(client, { ...params, blockNumber: toBlock })
  const config = {
    collaterals: state.collaterals,
    markets: state.markets,
    prices: state.prices,
    insurance: state.insuranceFund,
  }
  await getLogsChunked(client, {
    address: [state.clearinghouse],
    events: FOLLOWED_EVENTS,
    fromBlock: params.fromBlock,
    toBlock,
    onChunk: async (logs) => {
      for (const block of await groupByBlock(client, logs)) applyLogs(state, block.logs)
    },
  })
  // The configuration and prices read at the target block are the truth; replayed configuration
  // events only matter after it.
  state.collaterals = config.collaterals
  state.markets = config.markets
  state.prices = config.prices
  state.insuranceFund = config.insurance
  return state
}
