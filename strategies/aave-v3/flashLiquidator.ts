/**
 * Flash liquidations: our FlashLiquidator contract (contracts/FlashLiquidator.sol, compiled with
 * solc) borrows the debt asset from the Pool itself, liquidates, swaps the seized collateral into
 * the debt asset on Uniswap v3 and keeps at least a minimum profit or reverts. This module compiles
 * and deploys it, finds the deepest swap pool of every reserve pair, and turns a planned liquidation
 * into the contract's call: an execution route the executor weighs against paying from inventory.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type Address,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  type Hex,
  type LocalAccount,
  type PublicClient,
  parseAbi,
  zeroAddress,
} from 'viem'
import { waitForReceipt } from '../../src/chain/rpc.js'
import { FatalError, UsageError } from '../../src/errors.js'
import { type CompiledContract, compileSolidity } from '../../src/solidity.js'
import type { ExecutionRoute } from '../../src/types.js'
import type { AaveOpportunity } from './plan.js'
import { valueAt } from './plan.js'
import { pricesAt } from './priceSources.js'
import type { MarketState } from './state.js'

const here = dirname(fileURLToPath(import.meta.url))

export const flashLiquidatorAbi = parseAbi([
  'function liquidate((address collateral, address debt, address user, uint256 debtToCover, uint256 flashAmount, address swapPool, uint256 minProfit, address profitTo) job) payable',
  'function rescue(address token, address to, uint256 amount)',
  'function owner() view returns (address)',
  'function pool() view returns (address)',
  'event FlashLiquidation(address indexed user, address indexed collateral, address indexed debt, uint256 collateralSeized, uint256 debtRepaid, uint256 profit)',
  'error ProfitBelowMinimum(uint256 profit, uint256 minimum)',
  'error NotOwner()',
])

const uniswapFactoryAbi = parseAbi(['function getPool(address, address, uint24) view returns (address)'])
const uniswapPoolAbi = parseAbi(['function liquidity() view returns (uint128)'])

/** Uniswap v3's fee tiers (hundredths of a basis point). */
export const DEFAULT_FEE_TIERS: readonly number[] = [100, 500, 3000, 10_000]

/** Gas of borrow + liquidationCall + swap + repay, for ranking before simulation measures it. */
export const FLASH_GAS_ESTIMATE = 750_000n

function contractsDir(): string {
  for (const dir of [
    join(here, 'contracts'),
    join(here, '..', '..', '..', 'strategies', 'aave-v3', 'contracts'),
  ])
    if (existsSync(join(dir, 'FlashLiquidator.sol'))) return dir
  throw new FatalError('FlashLiquidator.sol not found beside the aave-v3 strategy')
}

let compiled: CompiledContract | undefined

export function flashLiquidatorContract(): CompiledContract {
  compiled ??= compileSolidity({
    label: 'flash-liquidator',
    entries: ['FlashLiquidator.sol'],
    readSource: (path) => readFileSync(join(contractsDir(), path), 'utf8'),
    settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: 'shanghai' },
    contracts: { FlashLiquidator: ['FlashLiquidator.sol', 'FlashLiquidator'] },
  }).FlashLiquidator
  return compiled
}

/** Deploys a FlashLiquidator for `pool`, owned by the signing account; returns its address. */
export async function deployFlashLiquidator(
  client: PublicClient,
  account: LocalAccount,
  chainId: number,
  pool: Address,
): Promise<{ address: Address; hash: Hex }> {
  const contract = flashLiquidatorContract()
  const data = encodeDeployData({
    abi: contract.abi,
    bytecode: contract.bytecode,
    args: [pool, account.address],
  })
  const [nonce, block] = await Promise.all([
    client.getTransactionCount({ address: account.address, blockTag: 'pending' }),
    client.getBlock(),
  ])
  const gas = await client.estimateGas({ account: account.address, data })
  const tip = 10n ** 9n
  const signed = await account.signTransaction({
    chainId,
    type: 'eip1559',
    nonce,
    data,
    gas: (gas * 12n) / 10n,
    maxFeePerGas: (block.baseFeePerGas ?? 0n) * 2n + tip,
    maxPriorityFeePerGas: tip,
  })
  const hash = await client.sendRawTransaction({ serializedTransaction: signed })
  const receipt = await waitForReceipt(client, hash, 120_000)
  if (receipt.status !== 'success' || !receipt.contractAddress)
    throw new FatalError(`the FlashLiquidator deployment ${hash} reverted`)
  return { address: getAddress(receipt.contractAddress), hash }
}

/** What the strategy needs to offer flash routes: the contract, its owner, a swap pool per pair. */
export interface FlashSetup {
  contract: Address
  owner: Address
  /** `${collateral}:${debt}` (lowercase) → the deepest Uniswap v3 pool of the pair. */
  pools: Map<string, Address>
}

const pairKey = (a: string, b: string) => `${a.toLowerCase()}:${b.toLowerCase()}`

/**
 * Reads the contract's owner and pool (it must serve this market) and, for every pair of reserves,
 * the Uniswap v3 pool with the most in-range liquidity over the fee tiers.
 */
export async function loadFlashSetup(
  client: PublicClient,
  market: MarketState,
  params: { contract: Address; uniswapV3Factory: Address; feeTiers?: readonly number[] | undefined },
): Promise<FlashSetup> {
  const [owner, servedPool] = await Promise.all([
    client.readContract({ address: params.contract, abi: flashLiquidatorAbi, functionName: 'owner' }),
    client.readContract({ address: params.contract, abi: flashLiquidatorAbi, functionName: 'pool' }),
  ]).catch(() => {
    throw new UsageError(
      `market.flashLiquidator ${params.contract} is not a FlashLiquidator (deploy one with: undertow deploy-executor)`,
    )
  })
  if (servedPool.toLowerCase() !== market.pool.toLowerCase())
    throw new UsageError(
      `market.flashLiquidator ${params.contract} serves pool ${servedPool}, not this market's ${market.pool}`,
    )
  const assets = [...market.reserves.values()].map((r) => r.asset)
  const tiers = params.feeTiers ?? DEFAULT_FEE_TIERS
  const pools = new Map<string, Address>()
  const pairs: [Address, Address][] = []
  for (let i = 0; i < assets.length; i++)
    for (let j = i + 1; j < assets.length; j++) pairs.push([assets[i] as Address, assets[j] as Address])
  await Promise.all(
    pairs.map(async ([a, b]) => {
      let best: { pool: Address; liquidity: bigint } | undefined
      for (const fee of tiers) {
        const pool = await client.readContract({
          address: params.uniswapV3Factory,
          abi: uniswapFactoryAbi,
          functionName: 'getPool',
          args: [a, b, fee],
        })
        if (pool === zeroAddress) continue
        const liquidity = await client.readContract({
          address: pool,
          abi: uniswapPoolAbi,
          functionName: 'liquidity',
        })
        if (!best || liquidity > best.liquidity) best = { pool, liquidity }
      }
      if (best && best.liquidity > 0n) {
        pools.set(pairKey(a, b), best.pool)
        pools.set(pairKey(b, a), best.pool)
      }
    }),
  )
  return { contract: params.contract, owner, pools }
}

/**
 * The flash route of a planned liquidation, or undefined when the pair has no swap pool. It
 * borrows 0.1% more than the planned repayment (interest accrues until inclusion; the surplus comes
 * back as profit, less its flash premium) and names the Pool's own maximum as v3.3+ plans do.
 */
export function flashRoute(
  setup: FlashSetup,
  market: MarketState,
  opp: AaveOpportunity,
): ExecutionRoute | undefined {
  const { collateralAsset, debtAsset, debtToCover, callDebtToCover } = opp.details
  const same = collateralAsset.toLowerCase() === debtAsset.toLowerCase()
  const swapPool = same ? zeroAddress : setup.pools.get(pairKey(collateralAsset, debtAsset))
  if (!swapPool) return undefined
  const debtDecimals = market.reserves.get(debtAsset.toLowerCase())?.decimals
  if (debtDecimals === undefined) return undefined
  return {
    name: 'flash',
    gasEstimate: FLASH_GAS_ESTIMATE,
    probes: opp.probes,
    call(sender, minProfitBase) {
      if (sender.toLowerCase() !== setup.owner.toLowerCase()) return undefined
      // The minimum in debt units, rounded up, at the prices the liquidation was planned at.
      const prices = pricesAt(market, opp.atTimestamp, opp.predictedPrices)
      const unitValue = valueAt(market, prices, debtAsset, 10n ** BigInt(debtDecimals))
      if (unitValue <= 0n) return undefined
      const floor = minProfitBase > 0n ? minProfitBase : 0n
      const minProfit = (floor * 10n ** BigInt(debtDecimals) + unitValue - 1n) / unitValue
      return {
        to: setup.contract,
        value: 0n,
        errors: flashLiquidatorAbi,
        data: encodeFunctionData({
          abi: flashLiquidatorAbi,
          functionName: 'liquidate',
          args: [
            {
              collateral: collateralAsset,
              debt: debtAsset,
              user: opp.account,
              debtToCover: callDebtToCover,
              flashAmount: debtToCover + debtToCover / 1000n + 1n,
              swapPool,
              minProfit,
              profitTo: sender,
            },
          ],
        }),
      }
    },
  }
}
