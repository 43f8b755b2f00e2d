/**
 * Deploys a complete Aave v3.0.2 market from the `@aave/core-v3` npm artifacts, in the order the
 * contracts require (see shared/AAVE-NOTES.md): addresses provider and ACL, linked logic libraries,
 * Pool and PoolConfigurator behind their proxies, oracle with one settable aggregator per asset,
 * data provider, token implementations, rate strategies, reserves, risk parameters and eMode.
 */
import { type Address, getAddress, type PublicClient, parseUnits, zeroAddress } from 'viem'
import { callWrite, deployContract } from '../../../src/chain/rpc.js'
import { type HelperName, helperContract } from '../../../src/devnet/helperContracts.js'
import { FatalError } from '../../../src/errors.js'
import { addressesProviderAbi, poolAbi } from '../abi.js'
import { type AaveContractName, linkBytecode, loadAaveArtifact } from './aaveArtifacts.js'
import { DEVNET_EMODES, DEVNET_RESERVES, type ReserveSpec } from './marketSpec.js'

export interface DevnetReserve {
  asset: Address
  aToken: Address
  variableDebtToken: Address
  stableDebtToken: Address
  /** The settable aggregator behind the price (for an adapter-priced reserve, its underlying feed). */
  aggregator: Address
  /** The AaveOracle's source: the aggregator, or a price adapter over it. */
  source: Address
  /** An exchange-rate adapter's silent rate (setPrice moves this one, not the shared feed). */
  rateProvider?: Address
  decimals: number
}

export interface DevnetAddresses {
  pool: Address
  addressesProvider: Address
  poolConfigurator: Address
  aclManager: Address
  oracle: Address
  dataProvider: Address
  batchReader: Address
  treasury: Address
  reserves: Record<string, DevnetReserve>
}

const RAY = 10n ** 27n
const pctToRay = (pct: number): bigint => (BigInt(Math.round(pct * 1e6)) * RAY) / 100_000_000n

/** Deploys the batch reader and reads every reserve's token addresses back from the Pool. */
export async function readDevnetReserves(
  client: PublicClient,
  admin: Address,
  pool: Address,
  assets: readonly Address[],
  feeds: DevnetFeeds,
  reserves: readonly ReserveSpec[],
): Promise<{ batchReader: Address; reserves: Record<string, DevnetReserve> }> {
  const batchReaderContract = helperContract('BatchReader')
  const batchReader = await deployContract(
    client,
    admin,
    batchReaderContract.abi,
    batchReaderContract.bytecode,
    [],
    'BatchReader',
  )
  const out: Record<string, DevnetReserve> = {}
  for (const [i, spec] of reserves.entries()) {
    const data = await client.readContract({
      address: pool,
      abi: poolAbi,
      functionName: 'getReserveData',
      args: [assets[i] as Address],
    })
    out[spec.symbol] = {
      asset: assets[i] as Address,
      aToken: data.aTokenAddress,
      variableDebtToken: data.variableDebtTokenAddress,
      stableDebtToken: data.stableDebtTokenAddress,
      aggregator: feeds.aggregators[i] as Address,
      source: feeds.sources[i] as Address,
      ...(feeds.rateProviders[i] ? { rateProvider: feeds.rateProviders[i] } : {}),
      decimals: spec.decimals,
    }
  }
  return { batchReader, reserves: out }
}

/** The reserve risk parameters, through a configurator writer (same calls on every version). */
export async function configureRiskParameters(
  write: (functionName: string, args: readonly unknown[]) => Promise<unknown>,
  assets: readonly Address[],
  reserves: readonly ReserveSpec[],
): Promise<void> {
  for (const [i, spec] of reserves.entries()) {
    const asset = assets[i] as Address
    await write('configureReserveAsCollateral', [
      asset,
      spec.ltvBps,
      spec.liquidationThresholdBps,
      spec.liquidationBonusBps,
    ])
    if (spec.borrowingEnabled) await write('setReserveBorrowing', [asset, true])
    // As on every live market: reserves lend by flash loan (flash liquidations borrow this way).
    await write('setReserveFlashLoaning', [asset, true])
    await write('setReserveFactor', [asset, spec.reserveFactorBps])
    await write('setLiquidationProtocolFee', [asset, spec.liquidationProtocolFeeBps])
    if (spec.supplyCap > 0) await write('setSupplyCap', [asset, spec.supplyCap])
    if (spec.borrowCap > 0) await write('setBorrowCap', [asset, spec.borrowCap])
    if (spec.debtCeiling > 0n) await write('setDebtCeiling', [asset, spec.debtCeiling])
    if (spec.borrowableInIsolation) await write('setBorrowableInIsolation', [asset, true])
  }
}

/** What prices each devnet reserve, by reserve index. */
export interface DevnetFeeds {
  /** The settable Chainlink-style aggregator behind the price (an adapter's underlying feed). */
  aggregators: Address[]
  /** What the AaveOracle reads: the aggregator itself, or a price adapter over it. */
  sources: Address[]
  /** For an exchange-rate adapter, its silent rate provider. */
  rateProviders: (Address | undefined)[]
}

/**
 * Mintable underlying tokens and their price sources (both versions): a settable aggregator per
 * reserve, or an exchange-rate or capped adapter (ours, solc) with the CAPO adapters' interface.
 */
export async function deployTokensAndFeeds(
  client: PublicClient,
  admin: Address,
  reserves: readonly ReserveSpec[],
): Promise<{ assets: Address[] } & DevnetFeeds> {
  const token = loadAaveArtifact('MintableERC20')
  const deployHelper = (name: HelperName, args: readonly unknown[], label: string) => {
    const contract = helperContract(name)
    return deployContract(client, admin, contract.abi, contract.bytecode, args, label)
  }
  const assets: Address[] = []
  const feeds: DevnetFeeds = { aggregators: [], sources: [], rateProviders: [] }
  for (const spec of reserves) {
    assets.push(
      await deployContract(
        client,
        admin,
        token.abi,
        token.bytecode,
        [spec.symbol, spec.symbol, spec.decimals],
        spec.symbol,
      ),
    )
    const adapter = spec.priceAdapter
    if (adapter?.kind === 'ratio') {
      const baseIndex = reserves.findIndex((r) => r.symbol === adapter.baseSymbol)
      const base = feeds.aggregators[baseIndex]
      if (!base)
        throw new FatalError(`the ${spec.symbol} adapter's base ${adapter.baseSymbol} must come first`)
      const rate = parseUnits(adapter.rate, 18)
      const rateProvider = await deployHelper('SettableRate', [rate], `${spec.symbol} rate`)
      const { timestamp } = await client.getBlock()
      const source = await deployHelper(
        'RatioCapAdapter',
        [
          base,
          rateProvider,
          18,
          `${spec.symbol} / USD (exchange rate)`,
          rate,
          timestamp,
          adapter.maxYearlyGrowthBps,
        ],
        `${spec.symbol} adapter`,
      )
      feeds.aggregators.push(base)
      feeds.sources.push(source)
      feeds.rateProviders.push(rateProvider)
      continue
    }
    const aggregator = await deployHelper(
      'SettableAggregator',
      [parseUnits(spec.priceUsd, 8), 8, `${spec.symbol} / USD`],
      `${spec.symbol} aggregator`,
    )
    feeds.aggregators.push(aggregator)
    feeds.rateProviders.push(undefined)
    feeds.sources.push(
      adapter?.kind === 'stable-cap'
        ? await deployHelper(
            'StableCapAdapter',
            [aggregator, parseUnits(adapter.capUsd, 8), `${spec.symbol} / USD (capped)`],
            `${spec.symbol} adapter`,
          )
        : aggregator,
    )
  }
  return { assets, ...feeds }
}

type Deploy<N extends string> = (
  name: N,
  args: readonly unknown[],
  libraries?: Record<string, Address>,
) => Promise<Address>
type Write<N extends string> = (
  to: Address,
  name: N,
  functionName: string,
  args: readonly unknown[],
) => Promise<unknown>

/**
 * The same in every version: addresses provider and access control (the ACL admin must be set
 * before the ACLManager exists), then the logic libraries (FlashLoanLogic links BorrowLogic).
 */
export async function deployProviderAclAndLibraries<N extends string>(
  deploy: Deploy<N | 'PoolAddressesProvider' | 'ACLManager' | 'FlashLoanLogic'>,
  write: Write<N | 'PoolAddressesProvider' | 'ACLManager'>,
  admin: Address,
  marketId: string,
  libraryNames: readonly N[],
): Promise<{ addressesProvider: Address; aclManager: Address; libraries: Record<string, Address> }> {
  const addressesProvider = await deploy('PoolAddressesProvider', [marketId, admin])
  await write(addressesProvider, 'PoolAddressesProvider', 'setACLAdmin', [admin])
  const aclManager = await deploy('ACLManager', [addressesProvider])
  await write(addressesProvider, 'PoolAddressesProvider', 'setACLManager', [aclManager])
  for (const role of ['addPoolAdmin', 'addEmergencyAdmin', 'addRiskAdmin', 'addAssetListingAdmin']) {
    await write(aclManager, 'ACLManager', role, [admin])
  }
  const libraries: Record<string, Address> = {}
  for (const name of libraryNames) libraries[name] = await deploy(name, [])
  libraries.FlashLoanLogic = await deploy('FlashLoanLogic', [], libraries)
  return { addressesProvider, aclManager, libraries }
}

export async function deployAaveMarket(
  client: PublicClient,
  admin: Address,
  reserves: readonly ReserveSpec[] = DEVNET_RESERVES,
): Promise<DevnetAddresses> {
  const deploy = (
    name: AaveContractName,
    args: readonly unknown[],
    libraries: Record<string, Address> = {},
  ) => {
    const artifact = loadAaveArtifact(name)
    return deployContract(client, admin, artifact.abi, linkBytecode(artifact, libraries), args, name)
  }
  const write = (
    to: Address,
    name: AaveContractName,
    functionName: string,
    args: readonly unknown[],
    gas?: bigint,
  ) => callWrite(client, admin, to, loadAaveArtifact(name).abi, functionName as never, args as never, gas)

  // 1-2. Addresses provider, access control, logic libraries.
  const { addressesProvider, aclManager, libraries } = await deployProviderAclAndLibraries(
    deploy,
    write,
    admin,
    'Undertow Devnet',
    [
      'SupplyLogic',
      'BorrowLogic',
      'LiquidationLogic',
      'EModeLogic',
      'BridgeLogic',
      'PoolLogic',
      'ConfiguratorLogic',
    ],
  )

  // 3. Pool and configurator implementations; the provider creates and initializes the proxies.
  const poolImpl = await deploy('Pool', [addressesProvider], libraries)
  await write(poolImpl, 'Pool', 'initialize', [addressesProvider])
  await write(addressesProvider, 'PoolAddressesProvider', 'setPoolImpl', [poolImpl])
  const pool = await client.readContract({
    address: addressesProvider,
    abi: addressesProviderAbi,
    functionName: 'getPool',
  })
  const configuratorImpl = await deploy('PoolConfigurator', [], libraries)
  await write(configuratorImpl, 'PoolConfigurator', 'initialize', [addressesProvider])
  await write(addressesProvider, 'PoolAddressesProvider', 'setPoolConfiguratorImpl', [configuratorImpl])
  const poolConfigurator = await client.readContract({
    address: addressesProvider,
    abi: addressesProviderAbi,
    functionName: 'getPoolConfigurator',
  })
  const dataProvider = await deploy('AaveProtocolDataProvider', [addressesProvider])
  await write(addressesProvider, 'PoolAddressesProvider', 'setPoolDataProvider', [dataProvider])

  // 4. Underlying tokens and one settable Chainlink-style aggregator each; then the AaveOracle.
  const { assets, ...feeds } = await deployTokensAndFeeds(client, admin, reserves)
  const oracle = await deploy('AaveOracle', [
    addressesProvider,
    assets,
    feeds.sources,
    zeroAddress,
    zeroAddress,
    10n ** 8n,
  ])
  await write(addressesProvider, 'PoolAddressesProvider', 'setPriceOracle', [oracle])

  // 5. Token implementations (they need the Pool proxy), rate strategies, reserves.
  const aTokenImpl = await deploy('AToken', [pool])
  const stableDebtImpl = await deploy('StableDebtToken', [pool])
  const variableDebtImpl = await deploy('VariableDebtToken', [pool])
  const treasury = getAddress('0x00000000000000000000000000000000000fee5e')
  const initInputs = []
  for (const [i, spec] of reserves.entries()) {
    const strategy = await deploy('DefaultReserveInterestRateStrategy', [
      addressesProvider,
      pctToRay(spec.rate.optimalUsagePct),
      pctToRay(spec.rate.basePct),
      pctToRay(spec.rate.slope1Pct),
      pctToRay(spec.rate.slope2Pct),
      pctToRay(1),
      pctToRay(60),
      pctToRay(1),
      pctToRay(8),
      pctToRay(20),
    ])
    initInputs.push({
      aTokenImpl,
      stableDebtTokenImpl: stableDebtImpl,
      variableDebtTokenImpl: variableDebtImpl,
      underlyingAssetDecimals: spec.decimals,
      interestRateStrategyAddress: strategy,
      underlyingAsset: assets[i],
      treasury,
      incentivesController: zeroAddress,
      aTokenName: `Aave ${spec.symbol}`,
      aTokenSymbol: `a${spec.symbol}`,
      variableDebtTokenName: `Aave variable debt ${spec.symbol}`,
      variableDebtTokenSymbol: `variableDebt${spec.symbol}`,
      stableDebtTokenName: `Aave stable debt ${spec.symbol}`,
      stableDebtTokenSymbol: `stableDebt${spec.symbol}`,
      params: '0x',
    })
  }
  await write(poolConfigurator, 'PoolConfigurator', 'initReserves', [initInputs], 50_000_000n)

  // 6. Risk parameters. The debt ceiling must be set before anyone supplies the asset.
  await configureRiskParameters(
    (name, args) => write(poolConfigurator, 'PoolConfigurator', name, args),
    assets,
    reserves,
  )
  for (const category of DEVNET_EMODES) {
    const sourceIndex = category.priceSourceSymbol
      ? reserves.findIndex((r) => r.symbol === category.priceSourceSymbol)
      : -1
    await write(poolConfigurator, 'PoolConfigurator', 'setEModeCategory', [
      category.id,
      category.ltvBps,
      category.liquidationThresholdBps,
      category.liquidationBonusBps,
      sourceIndex >= 0 ? assets[sourceIndex] : zeroAddress,
      category.label,
    ])
  }
  for (const [i, spec] of reserves.entries()) {
    if (spec.eModeCategory > 0) {
      await write(poolConfigurator, 'PoolConfigurator', 'setAssetEModeCategory', [
        assets[i],
        spec.eModeCategory,
      ])
    }
  }

  const { batchReader, reserves: reserveAddresses } = await readDevnetReserves(
    client,
    admin,
    pool,
    assets,
    feeds,
    reserves,
  )
  return {
    pool,
    addressesProvider,
    poolConfigurator,
    aclManager,
    oracle,
    dataProvider,
    batchReader,
    treasury,
    reserves: reserveAddresses,
  }
}
