/**
 * The Aave v3 strategy module: its `market` config section and flags, how they resolve into the
 * market it follows (an address-book preset, a PoolAddressesProvider, or a devnet file), the running
 * strategy, its devnet provider, fork preparation for backtests and the `markets` command.
 */
import { type Address, encodeFunctionData, getAddress, isAddress } from 'viem'
import { z } from 'zod'
import { devActions } from '../../src/chain/devActions.js'
import { sendUnlocked } from '../../src/chain/rpc.js'
import { UsageError } from '../../src/errors.js'
import type { StrategyModule } from '../../src/strategyModule.js'
import { addressesProviderAbi, erc20Abi } from './abi.js'
import { aaveAddresses, aaveDevnet, devnetUniswap } from './devnet/index.js'
import { deployFlashLiquidator } from './flashLiquidator.js'
import { findMarketPreset, type MarketPreset, marketPresets } from './marketPresets.js'
import { registerMarketsCommand } from './marketsCommand.js'
import type { AaveLiquidationDetails } from './plan.js'
import { STRATEGY_NAME } from './plan.js'
import type { AaveStrategy } from './strategy.js'
import { type AaveOptions, createAaveV3Strategy } from './strategy.js'

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), 'not an address')
  .transform((v) => getAddress(v))
const blockNumber = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, 'expected a block number')])
  .transform((v) => BigInt(v))

const marketSchema = z.strictObject({
  /** An address-book preset (AaveV3Ethereum, …) instead of an addressesProvider. */
  preset: z.string().optional(),
  addressesProvider: address.optional(),
  fromBlock: blockNumber.optional(),
  multicall: address.optional(),
  /** The chain's wrapped native token, where the address book does not know it (gas is valued at its price). */
  wrappedNative: address.optional(),
  /** Our FlashLiquidator for this market (undertow deploy-executor): liquidations without inventory. */
  flashLiquidator: address.optional(),
  /** The Uniswap v3 factory whose pools the flash liquidator swaps on (a devnet file gives its own). */
  uniswapV3Factory: address.optional(),
  /** Fee tiers searched for each pair's deepest pool (default 100, 500, 3000, 10000). */
  swapFeeTiers: z
    .array(z.union([z.literal(100), z.literal(500), z.literal(3000), z.literal(10_000)]))
    .min(1)
    .optional(),
})
type MarketSection = z.output<typeof marketSchema>

function resolvePreset(name: string): MarketPreset {
  const preset = findMarketPreset(name)
  if (!preset) {
    const names = marketPresets().map((p) => p.name)
    throw new UsageError(
      `unknown market "${name}" (${names.length} presets from @aave-dao/aave-address-book: ${names.slice(0, 6).join(', ')}, …; list them with: undertow markets)`,
    )
  }
  return preset
}

const asString = (v: unknown) => (typeof v === 'string' ? v : undefined)

export const aaveV3: StrategyModule<AaveOptions> = {
  name: STRATEGY_NAME,
  description: 'Aave v3 (v3.0 and v3.6 pools): cross-collateral lending liquidations',
  marketSchema,
  flags: [
    {
      flags: '--market <name>',
      description: 'an Aave v3 market from @aave-dao/aave-address-book (see: undertow markets)',
      name: 'market',
    },
    {
      flags: '--addresses-provider <address>',
      description: 'the market’s PoolAddressesProvider',
      name: 'addressesProvider',
    },
    {
      flags: '--flash-liquidator <address>',
      description:
        'our FlashLiquidator for this market (undertow deploy-executor): liquidate without inventory',
      name: 'flashLiquidator',
    },
    {
      flags: '--multicall <address>',
      description: 'Multicall3-compatible contract for batched reads',
      name: 'multicall',
    },
  ],
  resolveTarget({ section: rawSection, flags, devnet, chainId, fromBlock }) {
    const section = (rawSection ?? {}) as MarketSection
    const devnetFlag = devnet?.rank === 'flag' ? aaveAddresses(devnet.info) : undefined
    const devnetFile = devnet?.rank === 'file' ? aaveAddresses(devnet.info) : undefined
    const flagMarket = asString(flags.market)
    const flagProvider = asString(flags.addressesProvider)
    const flagMulticall = asString(flags.multicall)
    if (flagMarket !== undefined && flagProvider !== undefined)
      throw new UsageError('pass either --market or --addresses-provider, not both')
    if (section.preset !== undefined && section.addressesProvider !== undefined)
      throw new UsageError('set either market.preset or market.addressesProvider in the config, not both')
    const presetName = flagMarket ?? (flagProvider === undefined ? section.preset : undefined)
    const preset = presetName !== undefined ? resolvePreset(presetName) : undefined
    const providerRaw =
      flagProvider ??
      preset?.addressesProvider ??
      devnetFlag?.addressesProvider ??
      section.addressesProvider ??
      devnetFile?.addressesProvider
    if (!providerRaw)
      throw new UsageError(
        'no market: pass --market NAME or --addresses-provider, set market.preset or market.addressesProvider, or use --devnet FILE',
      )
    if (!isAddress(providerRaw, { strict: false }))
      throw new UsageError(`--addresses-provider is not an address: "${providerRaw}"`)
    const multicallRaw =
      flagMulticall ??
      devnetFlag?.batchReader ??
      section.multicall ??
      preset?.multicall ??
      devnetFile?.batchReader
    if (multicallRaw !== undefined && !isAddress(multicallRaw, { strict: false }))
      throw new UsageError(`--multicall is not an address: "${multicallRaw}"`)
    if (preset && chainId !== undefined && chainId !== preset.chainId)
      throw new UsageError(
        `market ${preset.name} is on chain ${preset.chainId}, but the chain id is set to ${chainId}`,
      )
    const provider = getAddress(providerRaw)
    // The devnet deployed its own WETH as the wrapped native token of its chain.
    const devnetNative = (devnetFlag ?? devnetFile)?.reserves.WETH?.asset
    const wrappedNative = section.wrappedNative ?? (devnetNative ? getAddress(devnetNative) : undefined)
    const flashRaw = asString(flags.flashLiquidator) ?? section.flashLiquidator
    if (flashRaw !== undefined && !isAddress(flashRaw, { strict: false }))
      throw new UsageError(`--flash-liquidator is not an address: "${flashRaw}"`)
    const devnetInfo = devnet?.info
    const factory = section.uniswapV3Factory ?? (devnetInfo ? devnetUniswap(devnetInfo)?.factory : undefined)
    if (flashRaw !== undefined && factory === undefined)
      throw new UsageError(
        'a flash liquidator needs swap pools: set market.uniswapV3Factory (a devnet started with --swap-pools uniswap-v3 gives its own)',
      )
    return {
      options: {
        ...(flashRaw !== undefined && factory !== undefined
          ? {
              flash: {
                contract: getAddress(flashRaw),
                uniswapV3Factory: getAddress(factory),
                ...(section.swapFeeTiers ? { feeTiers: section.swapFeeTiers } : {}),
              },
            }
          : {}),
        addressesProvider: provider,
        multicallAddress: multicallRaw ? getAddress(multicallRaw) : undefined,
        ...(wrappedNative ? { wrappedNative } : {}),
        fromBlock: fromBlock ?? (devnetFlag ? 0n : undefined) ?? section.fromBlock ?? 0n,
      },
      chainId: preset?.chainId,
      id: provider,
      fromBlock: fromBlock ?? (devnetFlag ? 0n : undefined) ?? section.fromBlock ?? 0n,
    }
  },
  create: (context, options, start) => createAaveV3Strategy(context, options, start),
  devnet: aaveDevnet,
  backtest: {
    // The fork liquidator gets the debt asset from the reserve's aToken (which holds the liquidity)
    // and approves the Pool; funding, approval and the call then land in one block.
    async prepareFork(client, strategy, opportunity, liquidator) {
      const market = (strategy as AaveStrategy).market()
      const details = opportunity.details as unknown as AaveLiquidationDetails
      const debtReserve = market.reserves.get(details.debtAsset.toLowerCase())
      if (!debtReserve) throw new Error(`unknown debt asset ${details.debtAsset}`)
      const dev = devActions(client)
      await dev.setBalance({ address: debtReserve.aToken, value: 10n ** 20n })
      await dev.impersonateAccount({ address: debtReserve.aToken })
      const send = (from: Address, to: Address, data: `0x${string}`) =>
        sendUnlocked(client, { from, to, data, gas: 3_000_000n })
      await send(
        debtReserve.aToken,
        details.debtAsset,
        encodeFunctionData({
          abi: erc20Abi,
          functionName: 'transfer',
          args: [liquidator, details.debtToCover],
        }),
      )
      await send(
        liquidator,
        details.debtAsset,
        encodeFunctionData({
          abi: erc20Abi,
          functionName: 'approve',
          args: [opportunity.call.to, 2n ** 256n - 1n],
        }),
      )
    },
  },
  executorContract: {
    description: 'FlashLiquidator',
    configKey: 'flashLiquidator',
    flag: '--flash-liquidator',
    async deploy(client, account, chainId, options) {
      const pool = await client.readContract({
        address: options.addressesProvider,
        abi: addressesProviderAbi,
        functionName: 'getPool',
      })
      return deployFlashLiquidator(client, account, chainId, pool)
    },
  },
  registerCommands: (program) => registerMarketsCommand(program),
}
