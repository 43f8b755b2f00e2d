/**
 * IO: reads the market's addresses, reserves, eMode categories and oracle prices at one block.
 * Positions are not read here: they come from logs (buildMirror.ts).
 */
import { type Address, getAddress, type PublicClient, zeroAddress } from 'viem'
import { readMany } from '../../src/chain/readMany.js'
import { errorText, FatalError, RetryableError, shouldRetry } from '../../src/errors.js'
import { aaveOracleAbi, addressesProviderAbi, erc20Abi, poolAbi } from './abi.js'
import { wrappedNativeFor } from './nativeToken.js'
import { classifySources, pollAdapters } from './priceSources.js'
import { describeKnownRevisions, rulesForRevision } from './rules.js'
import {
  decodeReserveConfiguration,
  type EModeCategory,
  type MarketState,
  type ReserveState,
} from './state.js'

const PER_RESERVE = 5

export interface MarketAddresses {
  addressesProvider: Address
  /** A Multicall3-compatible contract (aggregate3); undefined = parallel eth_calls. */
  multicallAddress?: Address | undefined
  /** The chain's wrapped native token (default: from the address book by chain id). */
  wrappedNative?: Address | undefined
}

export async function loadMarket(
  client: PublicClient,
  params: MarketAddresses & { blockNumber: bigint },
): Promise<MarketState> {
  const at = { blockNumber: params.blockNumber }
  const provider = params.addressesProvider
  const [pool, oracle, configurator] = await Promise.all([
    client.readContract({ address: provider, abi: addressesProviderAbi, functionName: 'getPool', ...at }),
    client.readContract({
      address: provider,
      abi: addressesProviderAbi,
      functionName: 'getPriceOracle',
      ...at,
    }),
    client.readContract({
      address: provider,
      abi: addressesProviderAbi,
      functionName: 'getPoolConfigurator',
      ...at,
    }),
  ]).catch((error: unknown) => {
    // A node that failed to answer is not a wrong address: only a contract that does not answer is.
    if (shouldRetry(error))
      throw new RetryableError(`cannot read the PoolAddressesProvider ${provider}: ${errorText(error)}`, {
        cause: error,
      })
    throw new FatalError(`no Aave v3 PoolAddressesProvider at ${provider} (block ${params.blockNumber})`, {
      cause: error,
    })
  })
  if (pool === zeroAddress) throw new FatalError(`PoolAddressesProvider ${provider} has no Pool`)
  const [revision, reservesList, block] = await Promise.all([
    client.readContract({ address: pool, abi: poolAbi, functionName: 'POOL_REVISION', ...at }),
    client.readContract({ address: pool, abi: poolAbi, functionName: 'getReservesList', ...at }),
    client.getBlock({ blockNumber: params.blockNumber }),
  ])
  const rules = rulesForRevision(revision)
  if (!rules) {
    throw new FatalError(
      `Aave Pool revision ${revision} at ${pool} is not supported (known: ${describeKnownRevisions()})`,
    )
  }
  // The revision number alone could be a fork's; the interface must answer as that version's does.
  const answersBitmaps = await client
    .readContract({
      address: pool,
      abi: poolAbi,
      functionName: 'getEModeCategoryCollateralBitmap',
      args: [0],
      ...at,
    })
    .then(
      () => true,
      (error: unknown) => {
        if (shouldRetry(error))
          throw new RetryableError(`cannot probe the Pool's interface: ${errorText(error)}`, { cause: error })
        return false
      },
    )
  if (answersBitmaps !== rules.eModeBitmaps) {
    throw new FatalError(
      `Aave Pool at ${pool} reports revision ${revision} (v${rules.version}) but ${answersBitmaps ? 'answers' : 'does not answer'} getEModeCategoryCollateralBitmap: not a Pool this version's rules describe`,
    )
  }
  const opts = { multicallAddress: params.multicallAddress, blockNumber: params.blockNumber }
  const perReserve = await readMany(
    client,
    reservesList.flatMap((asset) => [
      { address: pool, abi: poolAbi, functionName: 'getReserveData', args: [asset] },
      { address: asset, abi: erc20Abi, functionName: 'symbol' },
      { address: oracle, abi: aaveOracleAbi, functionName: 'getSourceOfAsset', args: [asset] },
      { address: oracle, abi: aaveOracleAbi, functionName: 'getAssetPrice', args: [asset] },
      rules.gracePeriods
        ? { address: pool, abi: poolAbi, functionName: 'getLiquidationGracePeriod', args: [asset] }
        : { address: pool, abi: poolAbi, functionName: 'POOL_REVISION' },
    ]),
    opts,
  )
  const reserves = new Map<string, ReserveState>()
  const tokens: MarketState['tokens'] = new Map()
  const prices = new Map<string, bigint>()
  const sources = new Map<string, string[]>()
  reservesList.forEach((asset, i) => {
    const data = perReserve[i * PER_RESERVE] as RawReserveData | Error
    if (data instanceof Error) throw new FatalError(`cannot read reserve ${asset}`, { cause: data })
    const symbol = perReserve[i * PER_RESERVE + 1]
    const source = perReserve[i * PER_RESERVE + 2]
    const price = perReserve[i * PER_RESERVE + 3]
    const grace = perReserve[i * PER_RESERVE + 4]
    if (rules.gracePeriods && typeof grace !== 'number' && typeof grace !== 'bigint')
      throw new FatalError(`cannot read the liquidation grace period of ${asset}`)
    const cfg = decodeReserveConfiguration(data.configuration.data)
    const key = asset.toLowerCase()
    reserves.set(key, {
      asset: getAddress(asset),
      symbol: typeof symbol === 'string' ? symbol : asset.slice(0, 10),
      id: data.id,
      decimals: cfg.decimals,
      ltv: cfg.ltv,
      liquidationThreshold: cfg.liquidationThreshold,
      liquidationBonus: cfg.liquidationBonus,
      liquidationProtocolFee: cfg.liquidationProtocolFee,
      reserveFactor: cfg.reserveFactor,
      eModeCategory: cfg.eModeCategory,
      active: cfg.active,
      frozen: cfg.frozen,
      paused: cfg.paused,
      borrowingEnabled: cfg.borrowingEnabled,
      stableBorrowingEnabled: cfg.stableBorrowingEnabled,
      borrowableInIsolation: cfg.borrowableInIsolation,
      debtCeiling: cfg.debtCeiling,
      liquidityIndex: data.liquidityIndex,
      variableBorrowIndex: data.variableBorrowIndex,
      liquidityRate: data.currentLiquidityRate,
      variableBorrowRate: data.currentVariableBorrowRate,
      stableBorrowRate: data.currentStableBorrowRate,
      lastUpdateTimestamp: BigInt(data.lastUpdateTimestamp),
      liquidationGracePeriodUntil: rules.gracePeriods ? BigInt(grace as number | bigint) : 0n,
      aToken: data.aTokenAddress,
      variableDebtToken: data.variableDebtTokenAddress,
      stableDebtToken: data.stableDebtTokenAddress,
    })
    tokens.set(data.aTokenAddress.toLowerCase(), { reserveId: data.id, asset: key, kind: 'aToken' })
    tokens.set(data.variableDebtTokenAddress.toLowerCase(), {
      reserveId: data.id,
      asset: key,
      kind: 'variableDebt',
    })
    // v3.2+ has no stable debt token (the field reads zero).
    if (data.stableDebtTokenAddress !== zeroAddress)
      tokens.set(data.stableDebtTokenAddress.toLowerCase(), {
        reserveId: data.id,
        asset: key,
        kind: 'stableDebt',
      })
    if (typeof price === 'bigint') prices.set(key, price)
    if (typeof source === 'string' && source !== zeroAddress) {
      const list = sources.get(source.toLowerCase()) ?? []
      list.push(key)
      sources.set(source.toLowerCase(), list)
    }
  })

  // Chainlink feeds are read through proxies whose answers (events, transmits) come from the
  // underlying aggregator: follow that address too. Adapters are re-read every block.
  const { adapters, aggregators } = await classifySources(client, sources, opts)
  for (const [proxy, aggregator] of aggregators) {
    const assets = sources.get(proxy)
    if (assets) sources.set(aggregator, assets)
  }

  // eMode ids are uint8; categories with a zero liquidation threshold do not exist.
  const categoryIds = Array.from({ length: 255 }, (_, i) => i + 1)
  const categoryData = await readMany(
    client,
    categoryIds.map((id) => ({
      address: pool,
      abi: poolAbi,
      functionName: 'getEModeCategoryData',
      args: [id],
    })),
    opts,
  )
  const eModes = new Map<number, EModeCategory>()
  categoryData.forEach((raw, i) => {
    if (raw instanceof Error || typeof raw !== 'object' || raw === null) return
    const c = raw as {
      ltv: number
      liquidationThreshold: number
      liquidationBonus: number
      priceSource: Address
      label: string
    }
    if (c.liquidationThreshold === 0) return
    const id = categoryIds[i] as number
    eModes.set(id, {
      id,
      ltv: c.ltv,
      liquidationThreshold: c.liquidationThreshold,
      liquidationBonus: c.liquidationBonus,
      priceSource: c.priceSource.toLowerCase() as Address,
      label: c.label,
    })
  })
  if (rules.eModeBitmaps) {
    // v3.2+: membership is per category, as reserve-id bitmaps. (The borrowable bitmap only
    // restricts new borrows, which the health math never needs.)
    const ids = [...eModes.keys()]
    const bitmaps = await readMany(
      client,
      ids.flatMap((id) =>
        (['getEModeCategoryCollateralBitmap', 'getEModeCategoryLtvzeroBitmap'] as const).map(
          (functionName) => ({ address: pool, abi: poolAbi, functionName, args: [id] }),
        ),
      ),
      opts,
    )
    ids.forEach((id, i) => {
      const [collateral, ltvzero] = bitmaps.slice(i * 2, i * 2 + 2)
      if (typeof collateral !== 'bigint' || typeof ltvzero !== 'bigint')
        throw new FatalError(`cannot read the bitmaps of eMode category ${id}`)
      const category = eModes.get(id) as EModeCategory
      category.collateralBitmap = collateral
      category.ltvzeroBitmap = ltvzero
    })
  }
  for (const category of eModes.values()) {
    if (category.priceSource === zeroAddress || prices.has(category.priceSource)) continue
    prices.set(
      category.priceSource,
      await client.readContract({
        address: oracle,
        abi: aaveOracleAbi,
        functionName: 'getAssetPrice',
        args: [category.priceSource],
        ...at,
      }),
    )
  }
  // Gas is paid in the native token: value it at its wrapped token's oracle price. A token that is
  // not a reserve of this market is priced through the oracle all the same and re-read each block.
  const nativeAsset = (params.wrappedNative ?? wrappedNativeFor(await client.getChainId()))?.toLowerCase()
  if (nativeAsset && !prices.has(nativeAsset)) {
    const [price, source] = await Promise.all([
      client
        .readContract({
          address: oracle,
          abi: aaveOracleAbi,
          functionName: 'getAssetPrice',
          args: [nativeAsset as Address],
          ...at,
        })
        .catch(() => 0n),
      client
        .readContract({
          address: oracle,
          abi: aaveOracleAbi,
          functionName: 'getSourceOfAsset',
          args: [nativeAsset as Address],
          ...at,
        })
        .catch(() => zeroAddress),
    ])
    if (price > 0n) {
      prices.set(nativeAsset, price)
      adapters.set(source.toLowerCase(), {
        address: source.toLowerCase(),
        assets: [nativeAsset],
        baseFeedAliases: [],
        model: { kind: 'opaque' },
        modelAgrees: false,
      })
    }
  }
  const state: MarketState = {
    pool: getAddress(pool),
    addressesProvider: getAddress(provider),
    oracle: getAddress(oracle),
    configurator: getAddress(configurator),
    poolRevision: revision,
    reserves,
    tokens,
    eModes,
    prices,
    sources,
    adapters,
    ...(nativeAsset && prices.has(nativeAsset) ? { nativeAsset } : {}),
    accounts: new Map(),
    block: { number: params.blockNumber, hash: block.hash, timestamp: block.timestamp },
  }
  // The models' inputs (rates, underlying answers, caps) at this block.
  await pollAdapters(client, state, { ...opts, timestamp: block.timestamp })
  return state
}

/** What Pool.getReserveData returns (the fields the mirror reads). */
export interface RawReserveData {
  configuration: { data: bigint }
  liquidityIndex: bigint
  currentLiquidityRate: bigint
  variableBorrowIndex: bigint
  currentVariableBorrowRate: bigint
  currentStableBorrowRate: bigint
  lastUpdateTimestamp: number
  id: number
  aTokenAddress: Address
  stableDebtTokenAddress: Address
  variableDebtTokenAddress: Address
}
