/**
 * Real Uniswap v3 on the devnet, from the `@uniswap/v3-core` and `@uniswap/v3-periphery` npm
 * artifacts (never committed): the factory, the NonfungiblePositionManager that seeds liquidity,
 * and the SwapRouter other bots use. Pools are created at the oracle's prices with full-range
 * liquidity, so a swap's price impact is that of a constant-product pool of the seeded depth.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type Abi, type Address, type Hex, type PublicClient, parseAbi, zeroAddress } from 'viem'
import { callWrite, deployContract } from '../chain/rpc.js'

const require = createRequire(import.meta.url)

function artifact(path: string): { abi: Abi; bytecode: Hex } {
  const json = JSON.parse(readFileSync(require.resolve(path), 'utf8')) as { abi: Abi; bytecode: Hex }
  return { abi: json.abi, bytecode: json.bytecode }
}

export interface UniswapV3Deployment {
  factory: Address
  positionManager: Address
  swapRouter: Address
}

const positionManagerAbi = parseAbi([
  'function createAndInitializePoolIfNecessary(address token0, address token1, uint24 fee, uint160 sqrtPriceX96) payable returns (address pool)',
  'function mint((address token0, address token1, uint24 fee, int24 tickLower, int24 tickUpper, uint256 amount0Desired, uint256 amount1Desired, uint256 amount0Min, uint256 amount1Min, address recipient, uint256 deadline) params) payable returns (uint256 tokenId, uint128 liquidity, uint256 amount0, uint256 amount1)',
])
const approveAbi = parseAbi(['function approve(address spender, uint256 amount) returns (bool)'])

const TICK_SPACING: Record<number, number> = { 100: 1, 500: 10, 3000: 60, 10000: 200 }
const MAX_TICK = 887_272

export async function deployUniswapV3(
  client: PublicClient,
  deployer: Address,
  wrappedNative: Address,
): Promise<UniswapV3Deployment> {
  const factoryArtifact = artifact(
    '@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json',
  )
  const managerArtifact = artifact(
    '@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json',
  )
  const routerArtifact = artifact('@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json')
  const factory = await deployContract(
    client,
    deployer,
    factoryArtifact.abi,
    factoryArtifact.bytecode,
    [],
    'UniswapV3Factory',
  )
  // No token descriptor: tokenURI is the only thing that needs one.
  const positionManager = await deployContract(
    client,
    deployer,
    managerArtifact.abi,
    managerArtifact.bytecode,
    [factory, wrappedNative, zeroAddress],
    'NonfungiblePositionManager',
  )
  const swapRouter = await deployContract(
    client,
    deployer,
    routerArtifact.abi,
    routerArtifact.bytecode,
    [factory, wrappedNative],
    'SwapRouter',
  )
  return { factory, positionManager, swapRouter }
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n
  // Newton's iteration from a power of two above the root decreases monotonically to floor(sqrt(n)).
  // (A float guess is no start: 2^96-sized roots carry errors of ~10^13 units.)
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2))
  for (;;) {
    const y = (x + n / x) >> 1n
    if (y >= x) return x
    x = y
  }
}

/**
 * sqrt(token1 per token0, in raw units) × 2^96 for two tokens priced in one currency (any common
 * scale), as Uniswap v3 initializes a pool.
 */
export function sqrtPriceX96(price0: bigint, decimals0: number, price1: bigint, decimals1: number): bigint {
  return isqrt((price0 * 10n ** BigInt(decimals1) * 2n ** 192n) / (price1 * 10n ** BigInt(decimals0)))
}

export interface PoolToken {
  address: Address
  decimals: number
  /** Price in a currency and scale shared by both tokens (the depth is given in the same). */
  price: bigint
}

/**
 * Creates the pool of two tokens at their prices and adds full-range liquidity worth `depth` (in
 * the prices' currency and scale) on each side, minted to and paid by `provider` through `mint`.
 */
export async function seedUniswapPool(
  client: PublicClient,
  uniswap: UniswapV3Deployment,
  params: {
    a: PoolToken
    b: PoolToken
    fee: number
    depth: bigint
    provider: Address
    mint: (token: Address, to: Address, amount: bigint) => Promise<unknown>
  },
): Promise<void> {
  const [t0, t1] =
    params.a.address.toLowerCase() < params.b.address.toLowerCase()
      ? [params.a, params.b]
      : [params.b, params.a]
  const spacing = TICK_SPACING[params.fee]
  if (spacing === undefined) throw new Error(`unknown Uniswap v3 fee tier ${params.fee}`)
  const tickUpper = Math.floor(MAX_TICK / spacing) * spacing
  const amount0 = (params.depth * 10n ** BigInt(t0.decimals)) / t0.price
  const amount1 = (params.depth * 10n ** BigInt(t1.decimals)) / t1.price
  await callWrite(
    client,
    params.provider,
    uniswap.positionManager,
    positionManagerAbi,
    'createAndInitializePoolIfNecessary',
    [t0.address, t1.address, params.fee, sqrtPriceX96(t0.price, t0.decimals, t1.price, t1.decimals)],
    6_000_000n,
  )
  for (const [token, amount] of [
    [t0.address, amount0],
    [t1.address, amount1],
  ] as const) {
    await params.mint(token, params.provider, amount)
    await callWrite(client, params.provider, token, approveAbi, 'approve', [uniswap.positionManager, amount])
  }
  await callWrite(
    client,
    params.provider,
    uniswap.positionManager,
    positionManagerAbi,
    'mint',
    [
      {
        token0: t0.address,
        token1: t1.address,
        fee: params.fee,
        tickLower: -tickUpper,
        tickUpper,
        amount0Desired: amount0,
        amount1Desired: amount1,
        amount0Min: 0n,
        amount1Min: 0n,
        recipient: params.provider,
        deadline: 2n ** 64n,
      },
    ],
    1_000_000n,
  )
}
