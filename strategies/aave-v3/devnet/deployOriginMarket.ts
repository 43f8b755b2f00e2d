/**
 * Deploys current Aave (aave-v3-origin 3.6, POOL_REVISION 10) built from its npm sources: the same
 * reserves, risk parameters and eMode categories as the v3.0 devnet, in 3.6's shape (one
 * DefaultReserveInterestRateStrategyV2 for the Pool with per-reserve rate data, no stable debt,
 * eMode membership by collateral/borrowable bitmaps and no eMode price source).
 */
import { type Address, encodeAbiParameters, getAddress, type PublicClient, zeroAddress } from 'viem'
import { callWrite, deployContract } from '../../../src/chain/rpc.js'
import { addressesProviderAbi } from '../abi.js'
import { linkBytecode } from './aaveArtifacts.js'
import {
  configureRiskParameters,
  type DevnetAddresses,
  deployProviderAclAndLibraries,
  deployTokensAndFeeds,
  readDevnetReserves,
} from './deployAaveMarket.js'
import { DEVNET_EMODES, DEVNET_RESERVES, type ReserveSpec } from './marketSpec.js'
import { buildOrigin, type OriginContractName } from './originArtifacts.js'

const bps = (pct: number) => Math.round(pct * 100)

export async function deployOriginMarket(
  client: PublicClient,
  admin: Address,
  reserves: readonly ReserveSpec[] = DEVNET_RESERVES,
): Promise<DevnetAddresses> {
  const { artifacts } = buildOrigin()
  const deploy = (
    name: OriginContractName,
    args: readonly unknown[],
    libraries: Record<string, Address> = {},
  ) =>
    deployContract(client, admin, artifacts[name].abi, linkBytecode(artifacts[name], libraries), args, name)
  const write = (
    to: Address,
    name: OriginContractName,
    functionName: string,
    args: readonly unknown[],
    gas?: bigint,
  ) => callWrite(client, admin, to, artifacts[name].abi, functionName as never, args as never, gas)

  const { addressesProvider, aclManager, libraries } = await deployProviderAclAndLibraries(
    deploy,
    write,
    admin,
    'Undertow Devnet 3.6',
    ['SupplyLogic', 'BorrowLogic', 'LiquidationLogic', 'PoolLogic', 'ConfiguratorLogic'],
  )

  // 3.6: one rate strategy contract for the whole Pool, fixed at construction.
  const rateStrategy = await deploy('DefaultReserveInterestRateStrategyV2', [addressesProvider])
  const poolImpl = await deploy('PoolInstance', [addressesProvider, rateStrategy], libraries)
  await write(addressesProvider, 'PoolAddressesProvider', 'setPoolImpl', [poolImpl], 10_000_000n)
  const pool = await client.readContract({
    address: addressesProvider,
    abi: addressesProviderAbi,
    functionName: 'getPool',
  })
  const configuratorImpl = await deploy('PoolConfiguratorInstance', [], libraries)
  await write(
    addressesProvider,
    'PoolAddressesProvider',
    'setPoolConfiguratorImpl',
    [configuratorImpl],
    10_000_000n,
  )
  const poolConfigurator = await client.readContract({
    address: addressesProvider,
    abi: addressesProviderAbi,
    functionName: 'getPoolConfigurator',
  })
  const dataProvider = await deploy('AaveProtocolDataProvider', [addressesProvider])
  await write(addressesProvider, 'PoolAddressesProvider', 'setPoolDataProvider', [dataProvider])

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

  const treasury = getAddress('0x00000000000000000000000000000000000fee5e')
  const aTokenImpl = await deploy('ATokenInstance', [pool, zeroAddress, treasury])
  const variableDebtImpl = await deploy('VariableDebtTokenInstance', [pool, zeroAddress])
  const rateData = (spec: ReserveSpec) =>
    encodeAbiParameters(
      [
        {
          type: 'tuple',
          components: [{ type: 'uint16' }, { type: 'uint32' }, { type: 'uint32' }, { type: 'uint32' }],
        },
      ],
      [
        [
          bps(spec.rate.optimalUsagePct),
          bps(spec.rate.basePct),
          bps(spec.rate.slope1Pct),
          bps(spec.rate.slope2Pct),
        ],
      ],
    )
  await write(
    poolConfigurator,
    'PoolConfiguratorInstance',
    'initReserves',
    [
      reserves.map((spec, i) => ({
        aTokenImpl,
        variableDebtTokenImpl: variableDebtImpl,
        underlyingAsset: assets[i],
        aTokenName: `Aave ${spec.symbol}`,
        aTokenSymbol: `a${spec.symbol}`,
        variableDebtTokenName: `Aave variable debt ${spec.symbol}`,
        variableDebtTokenSymbol: `variableDebt${spec.symbol}`,
        params: '0x',
        interestRateData: rateData(spec),
      })),
    ],
    50_000_000n,
  )
  await configureRiskParameters(
    (name, args) => write(poolConfigurator, 'PoolConfiguratorInstance', name, args),
    assets,
    reserves,
  )
  for (const category of DEVNET_EMODES) {
    await write(poolConfigurator, 'PoolConfiguratorInstance', 'setEModeCategory', [
      category.id,
      category.ltvBps,
      category.liquidationThresholdBps,
      category.liquidationBonusBps,
      category.label,
    ])
  }
  for (const [i, spec] of reserves.entries()) {
    if (spec.eModeCategory === 0) continue
    await write(poolConfigurator, 'PoolConfiguratorInstance', 'setAssetCollateralInEMode', [
      assets[i],
      spec.eModeCategory,
      true,
    ])
    if (spec.borrowingEnabled) {
      await write(poolConfigurator, 'PoolConfiguratorInstance', 'setAssetBorrowableInEMode', [
        assets[i],
        spec.eModeCategory,
        true,
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
