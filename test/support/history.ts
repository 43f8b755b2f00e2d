/**
 * Generates a liquidation history on the devnet: a price path, borrowers, a simple competing
 * liquidator that takes some underwater accounts, and others left for nobody.
 */
import { type Address, encodeFunctionData, maxUint256, toHex } from 'viem'
import { sendUnlocked, waitForReceipt } from '../../src/chain/rpc.js'
import { erc20Abi, poolAbi } from '../../strategies/aave-v3/abi.js'
import { buildMirror } from '../../strategies/aave-v3/buildMirror.js'
import {
  type AaveDevnet as Devnet,
  fundAccount,
  setPrice,
  startAaveDevnet,
} from '../../strategies/aave-v3/devnet/index.js'
import { giveGas, seededAccount } from '../../strategies/aave-v3/devnet/seedAccounts.js'
import { createMarketView, liquidationQuotes, userAccountData } from '../../strategies/aave-v3/math.js'
import type { MarketState } from '../../strategies/aave-v3/state.js'

export interface History {
  devnet: Devnet
  /** The mirror at fromBlock, captured before the history (for anvil runs that prune old state). */
  initial: MarketState
  fromBlock: bigint
  toBlock: bigint
  competitor: Address
}

export async function generateHistory(
  options: { accounts?: number; seed?: number; emptyBlocks?: number; pruneHistory?: boolean } = {},
): Promise<History> {
  const devnet = await startAaveDevnet({
    accounts: options.accounts ?? 40,
    seed: options.seed ?? 21,
    ...(options.pruneHistory ? { anvilArgs: ['--prune-history'] } : {}),
  })
  const client = devnet.client
  const competitor = seededAccount(31337, 99)
  await giveGas(client, competitor)
  await fundAccount(devnet, competitor, client)
  await client.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
  for (const reserve of Object.values(devnet.addresses.reserves)) {
    await waitForReceipt(
      client,
      await sendUnlocked(client, {
        from: competitor,
        to: reserve.asset,
        data: encodeFunctionData({
          abi: erc20Abi,
          functionName: 'approve',
          args: [devnet.addresses.pool, maxUint256],
        }),
      }),
    )
  }
  const fromBlock = await client.getBlockNumber({ cacheTime: 0 })
  const params = {
    addressesProvider: devnet.addresses.addressesProvider,
    multicallAddress: devnet.addresses.batchReader,
  }
  const { market: initial } = await buildMirror(client, { ...params, fromBlock: 0n, toBlock: fromBlock })
  const path: [string, string][] = [
    ['WETH', '1900'],
    ['WBTC', '37000'],
    ['WETH', '1750'],
    ['LINK', '12.5'],
    ['WETH', '1600'],
    ['WBTC', '33000'],
    ['WETH', '1680'],
    ['LINK', '10.5'],
    ['WETH', '1450'],
  ]
  let turn = 0
  const spread = BigInt(options.emptyBlocks ?? 20)
  for (const [symbol, price] of path) {
    await setPrice(devnet, symbol, price, client)
    for (let left = spread; left > 0n; left -= 100n) {
      await client.request({ method: 'anvil_mine', params: [toHex(left > 100n ? 100n : left)] } as never)
    }
    // The competitor liquidates every other underwater account it finds, a few blocks late.
    const { market } = await buildMirror(client, { ...params, fromBlock: 0n })
    const view = createMarketView(market, market.block.timestamp + 1n)
    for (const [key, position] of market.accounts) {
      if (userAccountData(view, position).healthFactor >= 10n ** 18n) continue
      if (turn++ % 2 === 1) continue
      const [best] = liquidationQuotes(view, position)
      if (!best) continue
      await client.request({
        method: 'evm_setNextBlockTimestamp',
        params: [toHex(market.block.timestamp + 1n)],
      } as never)
      await waitForReceipt(
        client,
        await sendUnlocked(client, {
          from: competitor,
          to: devnet.addresses.pool,
          data: encodeFunctionData({
            abi: poolAbi,
            functionName: 'liquidationCall',
            args: [best.collateralAsset, best.debtAsset, key as Address, maxUint256, false],
          }),
          gas: 2_000_000n,
        }),
      )
      break
    }
    await client.request({ method: 'anvil_mine', params: [toHex(3)] } as never)
  }
  const toBlock = await client.getBlockNumber({ cacheTime: 0 })
  return { devnet, initial, fromBlock, toBlock, competitor }
}
