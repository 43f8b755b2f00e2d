/**
 * Flash liquidations on a real devnet: Aave 3.6 and Uniswap v3 (npm artifacts) with pools at the
 * oracle prices, our FlashLiquidator deployed by a liquidator that holds ETH for gas and nothing
 * else. The executor weighs the direct call (which reverts: no inventory) against the flash route,
 * sends the flash one, and the profit lands in the owner's balance exactly as simulated. With the
 * swap pool's price pushed down, the same liquidation leaves less than the contract's minimum: the
 * simulation reverts and nothing is sent.
 */
import { encodeFunctionData, type Hex, maxUint256, parseUnits } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { devActions } from '../../src/chain/devActions.js'
import { callWrite, sendUnlocked, waitForReceipt } from '../../src/chain/rpc.js'
import { createExecutor } from '../../src/executor/executor.js'
import { simulateOpportunity } from '../../src/executor/simulate.js'
import { createLogger } from '../../src/logger.js'
import { createMetrics } from '../../src/metrics.js'
import type { BlockHeader } from '../../src/types.js'
import { erc20Abi, poolAbi } from '../../strategies/aave-v3/abi.js'
import {
  DEVNET_ADMIN,
  type AaveDevnet as Devnet,
  devnetUniswap,
  setPrice,
  startAaveDevnet,
} from '../../strategies/aave-v3/devnet/index.js'
import { giveGas, seededAccount, supplyFrom } from '../../strategies/aave-v3/devnet/seedAccounts.js'
import { deployFlashLiquidator } from '../../strategies/aave-v3/flashLiquidator.js'
import { aaveV3 } from '../../strategies/aave-v3/index.js'
import type { AaveOpportunity } from '../../strategies/aave-v3/plan.js'
import type { AaveStrategy } from '../../strategies/aave-v3/strategy.js'
import { revert, snapshot } from '../support/helpers.js'

let devnet: Devnet
const borrower = seededAccount(7373, 0)
const owner = privateKeyToAccount(generatePrivateKey())
let flashContract: `0x${string}`
let setupState: Hex

const asset = (symbol: string) => {
  const reserve = devnet.addresses.reserves[symbol]
  if (!reserve) throw new Error(`no ${symbol}`)
  return reserve.asset
}
const balanceOf = (token: `0x${string}`, who: `0x${string}`) =>
  devnet.client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [who] })

beforeAll(async () => {
  devnet = await startAaveDevnet({ accounts: 0, aave: '3.6', swapPools: true })
  const c = devnet.client
  await c.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
  await giveGas(c, borrower)
  await devActions(c).setBalance({ address: owner.address, value: 10n ** 19n })
  flashContract = (await deployFlashLiquidator(c, owner, devnet.chainId, devnet.addresses.pool)).address
  // 10 WETH at $2000 backing 14,000 DAI; WETH at $1600 brings it under the threshold.
  await supplyFrom(c, devnet.addresses, borrower, 'WETH', parseUnits('10', 18))
  await callWrite(c, borrower, devnet.addresses.pool, poolAbi, 'borrow', [
    asset('DAI'),
    parseUnits('14000', 18),
    2n,
    0,
    borrower,
  ])
  await setPrice(devnet, 'WETH', '1600', c)
  setupState = await snapshot(c)
}, 240_000)
afterAll(async () => devnet?.stop())

beforeEach(async () => {
  await revert(devnet.client, setupState)
  setupState = await snapshot(devnet.client)
})

/** The market's target with our FlashLiquidator configured. */
const flashTarget = () =>
  aaveV3.resolveTarget({
    section: undefined,
    flags: { flashLiquidator: flashContract },
    devnet: { info: devnet, rank: 'flag' },
    chainId: devnet.chainId,
    fromBlock: undefined,
  })

async function planned() {
  const resolved = flashTarget()
  const strategy = (await aaveV3.create(
    { client: devnet.client, log: createLogger('silent') },
    resolved.options,
    { fromBlock: 0n },
  )) as AaveStrategy
  const head = await devnet.client.getBlock()
  const header: BlockHeader = {
    number: head.number,
    hash: head.hash,
    parentHash: head.parentHash,
    timestamp: head.timestamp,
    baseFeePerGas: head.baseFeePerGas ?? 0n,
  }
  const [opp] = strategy.plan({
    timestamp: head.timestamp + 1n,
    gasPriceWei: 2n * 10n ** 9n,
  }) as AaveOpportunity[]
  if (!opp) throw new Error('nothing to liquidate')
  return { strategy, header, opp }
}

function executorFor(strategy: AaveStrategy) {
  const metrics = createMetrics()
  const executor = createExecutor({
    client: devnet.client,
    account: owner,
    strategy,
    settings: {
      chainId: devnet.chainId,
      minProfitBase: 10n ** 8n,
      priorityFeeShareBps: 1000n,
      maxFeePerGasWei: 10n ** 12n,
      replaceAfterBlocks: 3,
      gasLimitMarginBps: 2000n,
      dryRun: false,
    },
    log: createLogger('silent'),
    metrics,
  })
  return { executor, metrics }
}

describe('flash liquidation', () => {
  it('refuses a configured contract that is not a FlashLiquidator, in one line', async () => {
    const resolved = aaveV3.resolveTarget({
      section: undefined,
      flags: { flashLiquidator: devnet.addresses.pool },
      devnet: { info: devnet, rank: 'flag' },
      chainId: devnet.chainId,
      fromBlock: undefined,
    })
    await expect(
      aaveV3.create({ client: devnet.client, log: createLogger('silent') }, resolved.options, {
        fromBlock: 0n,
      }),
    ).rejects.toThrow(/is not a FlashLiquidator \(deploy one with: undertow deploy-executor\)/)
  })

  it('refuses a liquidator that is not the contract owner, in one line naming both', async () => {
    const resolved = flashTarget()
    const stranger = privateKeyToAccount(generatePrivateKey()).address
    await expect(
      aaveV3.create(
        { client: devnet.client, log: createLogger('silent'), sender: stranger },
        resolved.options,
        { fromBlock: 0n },
      ),
    ).rejects.toThrow(`is owned by ${owner.address}, not by the liquidator ${stranger}`)
    // Its owner is accepted.
    await expect(
      aaveV3.create(
        { client: devnet.client, log: createLogger('silent'), sender: owner.address },
        resolved.options,
        { fromBlock: 0n },
      ),
    ).resolves.toBeDefined()
  })

  it('lands from a wallet holding none of the debt asset, and the profit arrives exactly as simulated', async () => {
    const { strategy, header, opp } = await planned()
    expect(opp.details.collateralSymbol).toBe('WETH')
    expect(opp.details.debtSymbol).toBe('DAI')
    expect(opp.routes?.map((r) => r.name)).toEqual(['flash'])
    const dai = asset('DAI')
    expect(await balanceOf(dai, owner.address)).toBe(0n)
    const before = { dai: 0n, weth: await balanceOf(asset('WETH'), owner.address) }

    const { executor } = executorFor(strategy)
    const nonce = await devnet.client.getTransactionCount({ address: owner.address })
    // The block lands at the timestamp the plan's amounts were computed for (automine may reuse a second).
    await devnet.client.request({
      method: 'evm_setNextBlockTimestamp',
      params: [`0x${opp.atTimestamp.toString(16)}`],
    } as never)
    expect(await executor.execute(opp, header)).toBe('sent')
    await vi.waitFor(
      async () => expect(await devnet.client.getTransactionCount({ address: owner.address })).toBe(nonce + 1),
      { timeout: 10_000, interval: 20 },
    )
    const next = await devnet.client.getBlock()
    await executor.onBlock({
      number: next.number,
      hash: next.hash,
      parentHash: next.parentHash,
      timestamp: next.timestamp,
      baseFeePerGas: next.baseFeePerGas ?? 0n,
    })
    const [record] = executor.records
    expect(record?.route).toBe('flash')
    expect(record?.agreed).toBe(true)
    // Probes: [collateral, debt] balances of the owner. Flash: no collateral kept, profit in DAI.
    const gained = (await balanceOf(dai, owner.address)) - before.dai
    expect(gained).toBeGreaterThan(0n)
    expect(record?.simulatedDeltas).toEqual([0n, gained])
    expect(await balanceOf(asset('WETH'), owner.address)).toBe(before.weth)
    // It keeps nothing between calls.
    expect(await balanceOf(dai, flashContract)).toBe(0n)
    expect(await balanceOf(asset('WETH'), flashContract)).toBe(0n)
  })

  it('a swap leaving less than the minimum reverts in simulation and nothing is sent', async () => {
    const uniswap = devnetUniswap(devnet)
    if (!uniswap) throw new Error('no Uniswap on the devnet')
    // A whale dumps WETH into the WETH/DAI pool: WETH now fetches far less DAI than the oracle says.
    const whale = seededAccount(7373, 9)
    await giveGas(devnet.client, whale)
    const weth = asset('WETH')
    await callWrite(devnet.client, DEVNET_ADMIN, weth, erc20Abi, 'mint', [whale, parseUnits('20000', 18)])
    await callWrite(devnet.client, whale, weth, erc20Abi, 'approve', [uniswap.swapRouter, maxUint256])
    const hash = await sendUnlocked(devnet.client, {
      from: whale,
      to: uniswap.swapRouter,
      gas: 1_000_000n,
      data: encodeFunctionData({
        abi: swapRouterAbi,
        functionName: 'exactInputSingle',
        args: [
          {
            tokenIn: weth,
            tokenOut: asset('DAI'),
            fee: 3000,
            recipient: whale,
            deadline: 2n ** 64n,
            amountIn: parseUnits('20000', 18),
            amountOutMinimum: 0n,
            sqrtPriceLimitX96: 0n,
          },
        ],
      }),
    })
    expect((await waitForReceipt(devnet.client, hash)).status).toBe('success')

    const { strategy, header, opp } = await planned()
    const route = opp.routes?.[0]
    if (!route) throw new Error('no flash route')
    // The contract itself refuses: its minimum is what it checks.
    const call = route.call(owner.address, 0n)
    if (!call) throw new Error('the owner has no flash call')
    const sim = await simulateOpportunity(devnet.client, { ...opp, call }, owner.address)
    expect(sim.ok).toBe(false)
    expect(sim.reason).toMatch(/ProfitBelowMinimum/)

    const nonceBefore = await devnet.client.getTransactionCount({ address: owner.address })
    const { executor, metrics } = executorFor(strategy)
    expect(await executor.execute(opp, header)).toBe('refused')
    const refused = await metrics.registry.getSingleMetricAsString('undertow_refused_total')
    expect(refused).toMatch(/reason="simulation reverts"} 1/)
    expect(await devnet.client.getTransactionCount({ address: owner.address })).toBe(nonceBefore)
    expect(executor.inFlightCount()).toBe(0)
  })
})

const swapRouterAbi = [
  {
    type: 'function',
    name: 'exactInputSingle',
    stateMutability: 'payable',
    inputs: [
      {
        name: 'params',
        type: 'tuple',
        components: [
          { name: 'tokenIn', type: 'address' },
          { name: 'tokenOut', type: 'address' },
          { name: 'fee', type: 'uint24' },
          { name: 'recipient', type: 'address' },
          { name: 'deadline', type: 'uint256' },
          { name: 'amountIn', type: 'uint256' },
          { name: 'amountOutMinimum', type: 'uint256' },
          { name: 'sqrtPriceLimitX96', type: 'uint160' },
        ],
      },
    ],
    outputs: [{ name: 'amountOut', type: 'uint256' }],
  },
] as const
