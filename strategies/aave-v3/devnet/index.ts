/**
 * The Aave v3 devnet provider: deploys a real market (3.6 from aave-v3-origin sources, or 3.0 from
 * the @aave/core-v3 artifacts) with settable aggregators, supplies deep liquidity and seeds
 * borrowers; moves prices through the aggregators; funds liquidators with every reserve asset.
 */
import { type Address, encodeFunctionData, getAddress, isAddress, type PublicClient, parseAbi } from 'viem'
import { devActions } from '../../../src/chain/devActions.js'
import { callWrite, httpClient } from '../../../src/chain/rpc.js'
import type { DevnetInfo } from '../../../src/devnet/devnetFile.js'
import { parsePriceE8 } from '../../../src/devnet/parsePrice.js'
import { type Devnet, type DevnetOptions, startDevnet } from '../../../src/devnet/startDevnet.js'
import { deployUniswapV3, seedUniswapPool, type UniswapV3Deployment } from '../../../src/devnet/uniswapV3.js'
import { UsageError } from '../../../src/errors.js'
import type { DevnetProvider } from '../../../src/strategyModule.js'
import { aaveOracleAbi, aggregatorAbi, erc20Abi } from '../abi.js'
import { STRATEGY_NAME } from '../plan.js'
import type { DevnetReserve } from './deployAaveMarket.js'
import { type DevnetAddresses, deployAaveMarket } from './deployAaveMarket.js'
import { deployOriginMarket } from './deployOriginMarket.js'
import { planAccounts, seedAccounts, seedLiquidity } from './seedAccounts.js'

export type { DevnetAddresses, DevnetReserve } from './deployAaveMarket.js'

export type AaveVersion = '3.0' | '3.6'
export const AAVE_VERSIONS: readonly AaveVersion[] = ['3.0', '3.6']

/** anvil's first default account: deploys the market and owns the aggregators. */
export const DEVNET_ADMIN: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
/** anvil's second default account: supplies deep liquidity to every borrowable reserve. */
export const DEVNET_LIQUIDITY_PROVIDER: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

/** A devnet description whose addresses are an Aave market's. */
export interface AaveDevnetInfo extends DevnetInfo {
  addresses: DevnetAddresses & Record<string, unknown>
}
export type AaveDevnet = Devnet & AaveDevnetInfo

/** Checks that a devnet file's addresses are an Aave market's (the core only checked the chain fields). */
export function aaveAddresses(info: DevnetInfo): DevnetAddresses {
  const a = info.addresses as Partial<DevnetAddresses>
  if (
    typeof a.pool !== 'string' ||
    !isAddress(a.pool) ||
    typeof a.addressesProvider !== 'string' ||
    typeof a.reserves !== 'object' ||
    a.reserves === null
  )
    throw new UsageError(
      'the devnet file does not describe an Aave v3 market (no pool, provider or reserves)',
    )
  return a as DevnetAddresses
}

export function reserveOf(devnet: DevnetInfo, symbol: string) {
  const reserves = aaveAddresses(devnet).reserves
  const reserve = reserves[symbol]
  if (!reserve)
    throw new UsageError(
      `unknown reserve symbol "${symbol}" (devnet has ${Object.keys(reserves).join(', ')})`,
    )
  return reserve
}

const rateAbi = parseAbi(['function setRate(uint256 rate)', 'function getRate() view returns (uint256)'])

/**
 * Moves an oracle price with a real transaction: the reserve's aggregator answer, or, for an
 * exchange-rate adapter, its rate (price / underlying price: silent, as an LST's rate moves).
 */
export async function setPrice(devnet: DevnetInfo, symbol: string, price: string, client?: PublicClient) {
  const reserve = reserveOf(devnet, symbol)
  const answer = parsePriceE8(price)
  const rpc = client ?? httpClient(devnet.rpcUrl, devnet.chainId)
  if (reserve.rateProvider) {
    const base = await rpc.readContract({
      address: getAddress(reserve.aggregator),
      abi: aggregatorAbi,
      functionName: 'latestAnswer',
    })
    return callWrite(rpc, DEVNET_ADMIN, getAddress(reserve.rateProvider), rateAbi, 'setRate', [
      (answer * 10n ** 18n) / base,
    ])
  }
  return callWrite(rpc, DEVNET_ADMIN, getAddress(reserve.aggregator), aggregatorAbi, 'setAnswer', [answer])
}

/** The price the AaveOracle gives a devnet reserve now, in USD with 8 decimals. */
export async function oraclePrice(client: PublicClient, devnet: DevnetInfo, symbol: string): Promise<bigint> {
  return client.readContract({
    address: getAddress(aaveAddresses(devnet).oracle),
    abi: aaveOracleAbi,
    functionName: 'getAssetPrice',
    args: [reserveOf(devnet, symbol).asset],
  })
}

/** Gives an address ETH and a large balance of every reserve asset (for liquidators and other bots). */
export async function fundAccount(
  devnet: DevnetInfo,
  address: Address,
  client?: PublicClient,
): Promise<void> {
  const rpc = client ?? httpClient(devnet.rpcUrl, devnet.chainId)
  await devActions(rpc).setBalance({ address, value: 10n ** 22n })
  for (const reserve of Object.values(aaveAddresses(devnet).reserves)) {
    await callWrite(rpc, DEVNET_ADMIN, reserve.asset, erc20Abi, 'mint', [
      address,
      10n ** BigInt(reserve.decimals + 9),
    ])
  }
}

export const aaveDevnet: DevnetProvider = {
  options: [
    {
      flags: '--aave <version>',
      description: 'Aave version: 3.6 (aave-v3-origin, current mainnet) or 3.0 (@aave/core-v3)',
      name: 'aave',
      choices: AAVE_VERSIONS,
      default: '3.6',
    },
    {
      flags: '--swap-pools <kind>',
      description:
        'uniswap-v3: deploy Uniswap v3 with a pool per reserve pair at the oracle prices (for flash liquidations)',
      name: 'swapPools',
      choices: ['none', 'uniswap-v3'],
      default: 'none',
    },
  ],
  async deploy(client, { accounts, seed, options }) {
    const version = (options.aave ?? '3.6') as AaveVersion
    if (!AAVE_VERSIONS.includes(version))
      throw new UsageError(`unknown Aave version "${version}" (known: ${AAVE_VERSIONS.join(', ')})`)
    const addresses =
      version === '3.0'
        ? await deployAaveMarket(client, DEVNET_ADMIN)
        : await deployOriginMarket(client, DEVNET_ADMIN)
    await seedLiquidity(client, addresses, DEVNET_LIQUIDITY_PROVIDER)
    const uniswapV3 =
      options.swapPools === 'uniswap-v3' ? await deploySwapPools(client, addresses) : undefined
    const plans = planAccounts(accounts, seed)
    await seedAccounts(client, addresses, plans)
    return {
      addresses: { ...addresses, ...(uniswapV3 ? { uniswapV3 } : {}) },
      accounts: plans.map((p) => p.address),
      summary: `Aave ${version}, pool ${addresses.pool}`,
    }
  },
  async setPrice(client, info, symbol, price) {
    const receipt = await setPrice(info, symbol, price, client)
    const answer = await oraclePrice(client, info, symbol)
    const whole = answer / 10n ** 8n
    const fraction = (answer % 10n ** 8n).toString().padStart(8, '0').replace(/0+$/, '')
    return { blockNumber: receipt.blockNumber, readBack: `${whole}${fraction ? `.${fraction}` : ''} USD` }
  },
  priceUpdateTx(info, symbol, price) {
    if (reserveOf(info, symbol).rateProvider)
      throw new UsageError(
        `${symbol} is priced by an exchange-rate adapter: its rate moves silently, not by an oracle transaction`,
      )
    return {
      from: DEVNET_ADMIN,
      to: getAddress(reserveOf(info, symbol).aggregator),
      data: encodeFunctionData({
        abi: aggregatorAbi,
        functionName: 'setAnswer',
        args: [parsePriceE8(price)],
      }),
    }
  },
  async fund(client, info, address) {
    await fundAccount(info, address, client)
    return `ETH and ${Object.keys(aaveAddresses(info).reserves).join(', ')}`
  },
  demoShock: [
    ['WETH', '1500'],
    ['WBTC', '31000'],
    ['LINK', '11'],
    ['USDC', '0.985'],
  ],
}

/** USD depth (8 decimals) of each side of every devnet swap pool. */
export const SWAP_POOL_DEPTH_USD = 20_000_000n * 10n ** 8n

/**
 * Uniswap v3 with one 0.3% pool per pair of reserves, each seeded at the AaveOracle's prices with
 * full-range liquidity, so a flash liquidation's swap pays a real fee and a real price impact.
 */
export async function deploySwapPools(
  client: PublicClient,
  addresses: DevnetAddresses,
): Promise<UniswapV3Deployment> {
  const reserves = Object.values(addresses.reserves)
  const weth = addresses.reserves.WETH?.asset ?? (reserves[0] as DevnetReserve).asset
  const uniswap = await deployUniswapV3(client, DEVNET_ADMIN, weth)
  const prices = await Promise.all(
    reserves.map((r) =>
      client.readContract({
        address: getAddress(addresses.oracle),
        abi: aaveOracleAbi,
        functionName: 'getAssetPrice',
        args: [r.asset],
      }),
    ),
  )
  for (let i = 0; i < reserves.length; i++)
    for (let j = i + 1; j < reserves.length; j++) {
      const a = reserves[i] as DevnetReserve
      const b = reserves[j] as DevnetReserve
      await seedUniswapPool(client, uniswap, {
        a: { address: a.asset, decimals: a.decimals, price: prices[i] as bigint },
        b: { address: b.asset, decimals: b.decimals, price: prices[j] as bigint },
        fee: 3000,
        depth: SWAP_POOL_DEPTH_USD,
        provider: DEVNET_LIQUIDITY_PROVIDER,
        mint: (token, to, amount) => callWrite(client, DEVNET_ADMIN, token, erc20Abi, 'mint', [to, amount]),
      })
    }
  return uniswap
}

/** The devnet's Uniswap v3 deployment, if it was started with --swap-pools uniswap-v3. */
export function devnetUniswap(info: DevnetInfo): UniswapV3Deployment | undefined {
  const u = (info.addresses as { uniswapV3?: Partial<UniswapV3Deployment> }).uniswapV3
  return u && typeof u.factory === 'string' && isAddress(u.factory) ? (u as UniswapV3Deployment) : undefined
}

/** An Aave devnet with typed addresses (tests, bench). */
export async function startAaveDevnet(
  options: Omit<DevnetOptions, 'options'> & { aave?: AaveVersion; swapPools?: boolean } = {},
): Promise<AaveDevnet> {
  const { aave, swapPools, ...rest } = options
  const devnet = await startDevnet(
    { name: STRATEGY_NAME, devnet: aaveDevnet },
    { ...rest, options: { aave: aave ?? '3.6', swapPools: swapPools ? 'uniswap-v3' : 'none' } },
  )
  return devnet as AaveDevnet
}
