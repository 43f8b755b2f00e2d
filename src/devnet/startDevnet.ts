/**
 * The devnet: anvil from node_modules plus a real Aave v3 market and seeded borrowers. The same
 * function serves tests, the demo and `undertow devnet`.
 */
import { readFileSync } from 'node:fs'
import { type Address, getAddress, isAddress, type PublicClient, parseUnits, toHex } from 'viem'
import { aggregatorAbi } from '../../strategies/aave-v3/abi.js'
import { callWrite, httpClient } from '../chain/rpc.js'
import { type AnvilInstance, startAnvil } from '../chain/startAnvil.js'
import { UsageError } from '../errors.js'
import { type DevnetAddresses, deployAaveMarket } from './deployAaveMarket.js'
import { deployOriginMarket } from './deployOriginMarket.js'

export type AaveVersion = '3.0' | '3.6'
export const AAVE_VERSIONS: readonly AaveVersion[] = ['3.0', '3.6']

import { planAccounts, seedAccounts, seedLiquidity } from './seedAccounts.js'

/** anvil's first default account: deploys the market and owns the aggregators. */
export const DEVNET_ADMIN: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
/** anvil's second default account: supplies deep liquidity to every borrowable reserve. */
export const DEVNET_LIQUIDITY_PROVIDER: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

export interface DevnetInfo {
  rpcUrl: string
  wsUrl: string
  chainId: number
  addresses: DevnetAddresses
  accounts: Address[]
}

export interface Devnet extends DevnetInfo {
  client: PublicClient
  anvil: AnvilInstance
  stop(): Promise<void>
}

export interface DevnetOptions {
  accounts?: number
  seed?: number
  blockTimeSeconds?: number
  order?: 'fees' | 'fifo'
  /**
   * Which Aave: 3.6 (aave-v3-origin compiled from npm sources; the default, as on mainnet today) or
   * 3.0 (@aave/core-v3 artifacts).
   */
  aave?: AaveVersion
  /** Extra anvil flags (e.g. --prune-history for very long histories). */
  anvilArgs?: string[]
}

export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const anvil = await startAnvil({
    ...(options.order ? { order: options.order } : {}),
    ...(options.anvilArgs ? { extraArgs: options.anvilArgs } : {}),
  })
  try {
    const client = httpClient(anvil.rpcUrl, anvil.chainId)
    const addresses =
      options.aave === '3.0'
        ? await deployAaveMarket(client, DEVNET_ADMIN)
        : await deployOriginMarket(client, DEVNET_ADMIN)
    await seedLiquidity(client, addresses, DEVNET_LIQUIDITY_PROVIDER)
    const plans = planAccounts(options.accounts ?? 0, options.seed ?? 1)
    await seedAccounts(client, addresses, plans)
    // Interval mining starts after setup so deployment and seeding stay fast.
    if (options.blockTimeSeconds !== undefined) {
      await client.request({ method: 'evm_setIntervalMining', params: [options.blockTimeSeconds] } as never)
    }
    return {
      rpcUrl: anvil.rpcUrl,
      wsUrl: anvil.wsUrl,
      chainId: anvil.chainId,
      addresses,
      accounts: plans.map((p) => p.address),
      client,
      anvil,
      stop: () => anvil.stop(),
    }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}

export function devnetInfo(devnet: DevnetInfo): DevnetInfo {
  const { rpcUrl, wsUrl, chainId, addresses, accounts } = devnet
  return { rpcUrl, wsUrl, chainId, addresses, accounts }
}

export function readDevnetFile(path: string): DevnetInfo {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new UsageError(`devnet file ${path} cannot be read (does it exist?)`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new UsageError(`devnet file ${path} is not valid JSON`)
  }
  const info = parsed as Partial<DevnetInfo>
  if (
    typeof info !== 'object' ||
    info === null ||
    typeof info.rpcUrl !== 'string' ||
    typeof info.chainId !== 'number' ||
    typeof info.addresses?.pool !== 'string' ||
    typeof info.addresses.reserves !== 'object' ||
    !isAddress(info.addresses.pool)
  ) {
    throw new UsageError(`devnet file ${path} is not a devnet description (written by undertow devnet --out)`)
  }
  return { wsUrl: info.rpcUrl.replace(/^http/, 'ws'), accounts: [], ...info } as DevnetInfo
}

/** Parses a positive decimal price into the aggregator's 8-decimal answer, or explains what is wrong. */
export function parsePriceE8(price: string): bigint {
  if (!/^\d+(\.\d+)?$/.test(price.trim()))
    throw new UsageError(`price must be a positive decimal number, got "${price}"`)
  const [, fraction = ''] = price.trim().split('.')
  if (fraction.length > 8) throw new UsageError(`price has more than 8 decimals: "${price}"`)
  const value = parseUnits(price.trim(), 8)
  if (value <= 0n) throw new UsageError(`price must be greater than zero, got "${price}"`)
  return value
}

export function reserveOf(devnet: DevnetInfo, symbol: string) {
  const reserve = devnet.addresses.reserves[symbol]
  if (!reserve) {
    throw new UsageError(
      `unknown reserve symbol "${symbol}" (devnet has ${Object.keys(devnet.addresses.reserves).join(', ')})`,
    )
  }
  return reserve
}

/** Moves an oracle price with a real transaction to the asset's aggregator. */
export async function setPrice(devnet: DevnetInfo, symbol: string, price: string, client?: PublicClient) {
  const reserve = reserveOf(devnet, symbol)
  const answer = parsePriceE8(price)
  const rpc = client ?? httpClient(devnet.rpcUrl, devnet.chainId)
  return callWrite(rpc, DEVNET_ADMIN, getAddress(reserve.aggregator), aggregatorAbi, 'setAnswer', [answer])
}

/** Advances chain time by `seconds` and mines a block so the new timestamp takes effect. */
export async function warp(devnet: DevnetInfo, seconds: number, client?: PublicClient): Promise<void> {
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new UsageError(`--seconds must be a positive integer, got ${seconds}`)
  const rpc = client ?? httpClient(devnet.rpcUrl, devnet.chainId)
  await rpc.request({ method: 'evm_increaseTime', params: [toHex(seconds)] } as never)
  await rpc.request({ method: 'evm_mine', params: [] } as never)
}

/** Gives an address ETH and a large balance of every reserve asset (for liquidators and other bots). */
export async function fundAccount(
  devnet: DevnetInfo,
  address: Address,
  client?: PublicClient,
): Promise<void> {
  const rpc = client ?? httpClient(devnet.rpcUrl, devnet.chainId)
  await rpc.request({ method: 'anvil_setBalance', params: [address, toHex(10n ** 22n)] } as never)
  const { erc20Abi } = await import('../../strategies/aave-v3/abi.js')
  for (const reserve of Object.values(devnet.addresses.reserves)) {
    await callWrite(rpc, DEVNET_ADMIN, reserve.asset, erc20Abi, 'mint', [
      address,
      10n ** BigInt(reserve.decimals + 9),
    ])
  }
}
