/**
 * The xmargin-perps devnet provider: deploys MockPyth (from @pythnetwork/pyth-sdk-solidity), three
 * collateral tokens (6, 8 and 18 decimals), the clearinghouse with three markets, starts the Hermes
 * price service and the pusher, and seeds traders with multi-collateral, multi-market portfolios
 * (long and short, some near their maintenance margin, some across band edges).
 */
import {
  type Address,
  encodeFunctionData,
  getAddress,
  type Hex,
  keccak256,
  type PublicClient,
  parseUnits,
  toHex,
} from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { devActions } from '../../../src/chain/devActions.js'
import {
  callWrite,
  deployContract,
  sendAndConfirm,
  TransactionRevertedError,
} from '../../../src/chain/rpc.js'
import type { DevnetInfo } from '../../../src/devnet/devnetFile.js'
import { helperContract } from '../../../src/devnet/helperContracts.js'
import { startHermesService } from '../../../src/devnet/hermesService.js'
import { parsePriceE8 } from '../../../src/devnet/parsePrice.js'
import { createPythPusher } from '../../../src/devnet/pythPusher.js'
import { createRandom } from '../../../src/devnet/random.js'
import { UsageError } from '../../../src/errors.js'
import { encodePriceUpdate } from '../../../src/prices/pythUpdates.js'
import type { DevnetProvider } from '../../../src/strategyModule.js'
import { clearinghouseAbi, devTokenAbi, pythAbi } from '../abi.js'
import { perpsContract } from './artifacts.js'

export const PERPS_ADMIN: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
/** anvil's fifth default account: the price pusher. */
export const PERPS_PUSHER: Address = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65'
export const EXPO = -8
export const UPDATE_FEE_WEI = 10n ** 12n
export const MAX_PRICE_AGE = 60n

export interface PerpsDevnetAddresses {
  clearinghouse: Address
  pyth: Address
  batchReader: Address
  collaterals: Record<string, { asset: Address; feedId: Hex; decimals: number; assetId: number }>
  markets: Record<string, { marketId: number; feedId: Hex }>
}

export const feedId = (symbol: string): Hex => keccak256(toHex(`undertow-devnet:${symbol}/USD`))

export const FEEDS: readonly { symbol: string; price: string }[] = [
  { symbol: 'ETH', price: '3000' },
  { symbol: 'BTC', price: '60000' },
  { symbol: 'USDC', price: '1' },
  { symbol: 'SOL', price: '150' },
]

export const COLLATERALS = [
  {
    symbol: 'USDC',
    decimals: 6,
    feed: 'USDC',
    baseHaircutBps: 0n,
    volHaircutFactorBps: 1_000n,
    maxHaircutBps: 500n,
    volatilityBps: 200n,
  },
  {
    symbol: 'WBTC',
    decimals: 8,
    feed: 'BTC',
    baseHaircutBps: 500n,
    volHaircutFactorBps: 2_000n,
    maxHaircutBps: 3_000n,
    volatilityBps: 6_000n,
  },
  {
    symbol: 'WETH',
    decimals: 18,
    feed: 'ETH',
    baseHaircutBps: 500n,
    volHaircutFactorBps: 2_000n,
    maxHaircutBps: 3_000n,
    volatilityBps: 7_000n,
  },
] as const

const WAD = 10n ** 18n
export const MARKETS = [
  { symbol: 'ETH-PERP', feed: 'ETH', volatilityBps: 7_000n, fundingRate: 10n ** 13n },
  { symbol: 'BTC-PERP', feed: 'BTC', volatilityBps: 6_000n, fundingRate: -(10n ** 14n) },
  { symbol: 'SOL-PERP', feed: 'SOL', volatilityBps: 9_000n, fundingRate: 10n ** 12n },
] as const
/** Band edges 100k and 1M USD; MMR 2% / 5% / 10%, IMR twice that; raised by half the volatility. */
export const BANDS = {
  caps: [100_000n * WAD, 1_000_000n * WAD],
  mmrBps: [200n, 500n, 1_000n],
  imrBps: [400n, 1_000n, 2_000n],
}
export const VOL_MARGIN_FACTOR_BPS = 5_000n
export const MAX_LIQUIDATION_NOTIONAL = 250_000n * WAD

export function perpsAddresses(info: DevnetInfo): PerpsDevnetAddresses {
  const a = info.addresses as Partial<PerpsDevnetAddresses>
  if (
    info.protocol !== 'xmargin-perps' ||
    typeof a.clearinghouse !== 'string' ||
    typeof a.pyth !== 'string' ||
    !a.markets ||
    !a.collaterals
  )
    throw new UsageError(
      `the devnet file describes ${info.protocol ?? 'aave-v3'}, not an xmargin-perps clearinghouse`,
    )
  return a as PerpsDevnetAddresses
}

/** The feed a symbol names: a market ("ETH-PERP"), a collateral ("WETH") or a feed ("ETH"). */
export function feedOf(info: DevnetInfo, symbol: string): { symbol: string; id: Hex } {
  const a = perpsAddresses(info)
  const market = a.markets[symbol]
  const collateral = a.collaterals[symbol]
  const feed = FEEDS.find((f) => f.symbol === symbol)
  const id = market?.feedId ?? collateral?.feedId ?? (feed ? feedId(feed.symbol) : undefined)
  if (!id)
    throw new UsageError(
      `unknown market or asset "${symbol}" (devnet has ${[...Object.keys(a.markets), ...Object.keys(a.collaterals)].join(', ')})`,
    )
  const name = FEEDS.find((f) => feedId(f.symbol) === id)?.symbol ?? symbol
  return { symbol: name, id }
}

export const seededTrader = (seed: number, index: number): Address =>
  privateKeyToAddress(keccak256(toHex(`undertow-perps:${seed}:${index}`)))

async function post(url: string, body: unknown): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  } catch {
    throw new UsageError(
      `the devnet price service at ${new URL(url).host} does not answer (is undertow devnet running?)`,
    )
  }
  const json = (await res.json().catch(() => undefined)) as { error?: string } | undefined
  if (!res.ok || !json) throw new UsageError(`the price service refused: ${json?.error ?? res.status}`)
  return json
}

/** Lands the service's current updates for these feeds on chain, from the pusher account. */
export async function pushFeeds(client: PublicClient, info: DevnetInfo, ids: Hex[]): Promise<bigint> {
  const a = perpsAddresses(info)
  const url = new URL('/v2/updates/price/latest', info.priceServiceUrl)
  for (const id of ids) url.searchParams.append('ids[]', id)
  url.searchParams.set('encoding', 'hex')
  const res = await fetch(url)
  const body = (await res.json()) as { binary: { data: string[] } }
  const updateData = body.binary.data.map((d) => `0x${d}` as Hex)
  const fee = await client.readContract({
    address: a.pyth,
    abi: pythAbi,
    functionName: 'getUpdateFee',
    args: [updateData],
  })
  const receipt = await sendAndConfirm(
    client,
    {
      from: PERPS_PUSHER,
      to: a.pyth,
      data: encodeFunctionData({ abi: pythAbi, functionName: 'updatePriceFeeds', args: [updateData] }),
      value: fee,
      gas: 1_000_000n,
    },
    'push prices',
  )
  return receipt.blockNumber
}

/** A trader's portfolio, drawn from the seed: collaterals in USD and positions as shares of its IM room. */
export function planTraders(count: number, seed: number) {
  const random = createRandom(seed)
  return Array.from({ length: count }, (_, i) => {
    const collaterals = COLLATERALS.filter(() => random() < 0.6)
    if (collaterals.length === 0)
      collaterals.push(COLLATERALS[Math.floor(random() * 3)] as (typeof COLLATERALS)[number])
    // A few whales cross the upper band edges.
    const whale = random() < 0.15
    const deposits = collaterals.map((c) => ({
      symbol: c.symbol,
      usd: (whale ? 60_000 : 3_000) + random() * (whale ? 240_000 : 40_000),
    }))
    const markets = MARKETS.filter(() => random() < 0.6)
    if (markets.length === 0) markets.push(MARKETS[Math.floor(random() * 3)] as (typeof MARKETS)[number])
    const utilization = 0.6 + random() * 0.38
    const positions = markets.map((m) => ({ symbol: m.symbol, long: random() < 0.55, share: 0.3 + random() }))
    const total = positions.reduce((s, p) => s + p.share, 0)
    for (const p of positions) p.share = (p.share / total) * utilization
    return { address: seededTrader(seed, i), deposits, positions }
  })
}

export async function deployPerps(client: PublicClient, params: { accounts: number; seed: number }) {
  const admin = PERPS_ADMIN
  const c = (name: 'Clearinghouse' | 'DevToken' | 'MockPyth') => perpsContract(name)
  const pyth = await deployContract(
    client,
    admin,
    c('MockPyth').abi,
    c('MockPyth').bytecode,
    [MAX_PRICE_AGE, UPDATE_FEE_WEI],
    'MockPyth',
  )
  const clearinghouse = await deployContract(
    client,
    admin,
    c('Clearinghouse').abi,
    c('Clearinghouse').bytecode,
    [pyth, MAX_PRICE_AGE, 100n, 500n, 10n * WAD],
    'Clearinghouse',
  )
  const reader = helperContract('BatchReader')
  const batchReader = await deployContract(client, admin, reader.abi, reader.bytecode, [], 'BatchReader')
  const block = await client.getBlock()
  const service = await startHermesService({
    feeds: FEEDS.map((f) => ({
      id: feedId(f.symbol),
      symbol: f.symbol,
      price: parsePriceE8(f.price),
      expo: EXPO,
      publishTime: block.timestamp,
    })),
    now: () => BigInt(Math.floor(Date.now() / 1000)),
  })
  // Initial prices on chain, so accounts can trade.
  const updates = service
    .feeds()
    .map((f) => encodePriceUpdate({ id: f.id, price: f.price, expo: f.expo, publishTime: f.publishTime }))
  await sendAndConfirm(
    client,
    {
      from: admin,
      to: pyth,
      data: encodeFunctionData({ abi: pythAbi, functionName: 'updatePriceFeeds', args: [updates] }),
      value: UPDATE_FEE_WEI * BigInt(updates.length),
      gas: 1_000_000n,
    },
    'initial prices',
  )
  const collaterals: PerpsDevnetAddresses['collaterals'] = {}
  for (const [assetId, spec] of COLLATERALS.entries()) {
    const token = await deployContract(
      client,
      admin,
      c('DevToken').abi,
      c('DevToken').bytecode,
      [spec.symbol, spec.symbol, spec.decimals],
      spec.symbol,
    )
    await callWrite(client, admin, clearinghouse, clearinghouseAbi, 'addCollateral', [
      token,
      feedId(spec.feed),
      spec.baseHaircutBps,
      spec.volHaircutFactorBps,
      spec.maxHaircutBps,
    ])
    await callWrite(client, admin, clearinghouse, clearinghouseAbi, 'setVolatility', [
      false,
      BigInt(assetId),
      spec.volatilityBps,
    ])
    collaterals[spec.symbol] = { asset: token, feedId: feedId(spec.feed), decimals: spec.decimals, assetId }
  }
  const markets: PerpsDevnetAddresses['markets'] = {}
  for (const [marketId, spec] of MARKETS.entries()) {
    await callWrite(client, admin, clearinghouse, clearinghouseAbi, 'addMarket', [
      feedId(spec.feed),
      VOL_MARGIN_FACTOR_BPS,
      MAX_LIQUIDATION_NOTIONAL,
      BANDS.caps,
      BANDS.mmrBps,
      BANDS.imrBps,
    ])
    await callWrite(client, admin, clearinghouse, clearinghouseAbi, 'setVolatility', [
      true,
      BigInt(marketId),
      spec.volatilityBps,
    ])
    await callWrite(client, admin, clearinghouse, clearinghouseAbi, 'setFundingRate', [
      BigInt(marketId),
      spec.fundingRate,
    ])
    markets[spec.symbol] = { marketId, feedId: feedId(spec.feed) }
  }
  await callWrite(client, admin, clearinghouse, clearinghouseAbi, 'fundInsurance', [1_000_000n * WAD])
  const addresses: PerpsDevnetAddresses = { clearinghouse, pyth, batchReader, collaterals, markets }
  const traders = planTraders(params.accounts, params.seed)
  await devActions(client).request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
  const priceOf = (feed: string) => Number(FEEDS.find((f) => f.symbol === feed)?.price)
  let next = 0
  const worker = async () => {
    for (let t = traders[next++]; t; t = traders[next++]) {
      await devActions(client).setBalance({ address: t.address, value: 10n ** 20n })
      let netUsd = 0
      for (const d of t.deposits) {
        const spec = COLLATERALS.find((x) => x.symbol === d.symbol) as (typeof COLLATERALS)[number]
        const amount = parseUnits(
          (d.usd / priceOf(spec.feed)).toFixed(Math.min(spec.decimals, 8)),
          spec.decimals,
        )
        const token = collaterals[spec.symbol]?.asset as Address
        await callWrite(client, t.address, token, devTokenAbi, 'mint', [t.address, amount])
        await callWrite(client, t.address, token, devTokenAbi, 'approve', [clearinghouse, 2n ** 256n - 1n])
        await callWrite(client, t.address, clearinghouse, clearinghouseAbi, 'deposit', [token, amount])
        netUsd +=
          d.usd *
          (1 -
            Number(spec.baseHaircutBps + (spec.volHaircutFactorBps * spec.volatilityBps) / 10_000n) / 10_000)
      }
      for (const p of t.positions) {
        const spec = MARKETS.find((m) => m.symbol === p.symbol) as (typeof MARKETS)[number]
        const imr = 0.04 * (1 + 0.5 * (Number(spec.volatilityBps) / 10_000))
        let notional = (netUsd * p.share) / imr
        for (let attempt = 0; attempt < 6 && notional > 10; attempt++) {
          const size = parseUnits((notional / priceOf(spec.feed)).toFixed(6), 18)
          try {
            await callWrite(client, t.address, clearinghouse, clearinghouseAbi, 'modifyPosition', [
              BigInt(markets[spec.symbol]?.marketId ?? 0),
              p.long ? size : -size,
              [],
            ])
            break
          } catch (error) {
            // Above the initial margin (a higher band, the other positions): try smaller.
            if (!(error instanceof TransactionRevertedError)) throw error
            notional *= 0.7
          }
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(8, traders.length) }, worker))
  return { addresses, service, traders: traders.map((t) => t.address) }
}

export const perpsDevnet: DevnetProvider = {
  options: [],
  async deploy(client, { accounts, seed }) {
    const { addresses, service, traders } = await deployPerps(client, { accounts, seed })
    const pusher = createPythPusher({
      client,
      pyth: addresses.pyth,
      service,
      from: PERPS_PUSHER,
      deviationBps: 100n,
      heartbeatSec: 20n,
      intervalMs: 1_000,
    })
    return {
      addresses: { ...addresses },
      accounts: traders,
      summary: `xmargin-perps clearinghouse ${addresses.clearinghouse} (${Object.keys(addresses.markets).join(', ')}), price service ${service.url}`,
      extra: { priceServiceUrl: service.url },
      services: { service, pusher },
      async stop() {
        pusher.stop()
        await service.close()
      },
    }
  },
  async setPrice(client, info, symbol, price, options) {
    const feed = feedOf(info, symbol)
    const value = parsePriceE8(price)
    if (!info.priceServiceUrl) throw new UsageError('the devnet file has no priceServiceUrl')
    const block = await client.getBlock().catch(() => {
      throw new UsageError(
        `cannot reach the devnet node at ${new URL(info.rpcUrl).host} (is undertow devnet running?)`,
      )
    })
    await post(new URL('/devnet/price', info.priceServiceUrl).toString(), {
      symbol: feed.symbol,
      price: value.toString(),
      publishTime: block.timestamp.toString(),
    })
    if (!options?.push) return { blockNumber: undefined, readBack: `${price} USD off-chain (price service)` }
    const blockNumber = await pushFeeds(client, info, [feed.id])
    const stored = await client.readContract({
      address: perpsAddresses(info).pyth,
      abi: pythAbi,
      functionName: 'getPriceUnsafe',
      args: [feed.id],
    })
    return { blockNumber, readBack: `${Number(stored.price) / 1e8} USD on chain` }
  },
  priceUpdateTx(info, symbol, price) {
    const feed = feedOf(info, symbol)
    const update = encodePriceUpdate({
      id: feed.id,
      price: parsePriceE8(price),
      expo: EXPO,
      publishTime: BigInt(Math.floor(Date.now() / 1000)),
    })
    return {
      from: PERPS_PUSHER,
      to: getAddress(perpsAddresses(info).pyth),
      data: encodeFunctionData({ abi: pythAbi, functionName: 'updatePriceFeeds', args: [[update]] }),
      value: UPDATE_FEE_WEI,
    }
  },
  async fund(client, info, address) {
    await devActions(client).setBalance({ address, value: 10n ** 22n })
    const a = perpsAddresses(info)
    for (const c of Object.values(a.collaterals))
      await callWrite(client, PERPS_ADMIN, c.asset, devTokenAbi, 'mint', [
        address,
        10n ** BigInt(c.decimals + 9),
      ])
    return `ETH and ${Object.keys(a.collaterals).join(', ')}`
  },
  demoShockVia: 'offchain',
  demoShock: [
    ['ETH', '2700'],
    ['BTC', '56000'],
    ['SOL', '135'],
  ],
}
