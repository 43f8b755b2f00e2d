/**
 * Execution-accurate backtest: for each opportunity, fork the chain with anvil at the block where
 * Undertow detected it, fund a fresh liquidator with the debt asset (taken from the reserve's
 * aToken, which holds the liquidity), and send the very liquidationCall Undertow planned at the
 * timestamp it planned for. What landed is compared with the mirror's sizing to the last unit.
 */

import { type Address, encodeFunctionData, type PublicClient, parseEventLogs, toHex } from 'viem'
import { erc20Abi, poolAbi } from '../../strategies/aave-v3/abi.js'
import type { MarketState } from '../../strategies/aave-v3/state.js'
import { httpClient, sendUnlocked, waitForReceipt } from '../chain/rpc.js'
import { startAnvil } from '../chain/startAnvil.js'
import { errorText } from '../errors.js'
import type { Episode, ForkResult } from './replay.js'

const FORK_LIQUIDATOR: Address = '0x000000000000000000000000000000000000f0c5'

export async function forkExecute(
  rpcUrl: string,
  chainId: number,
  initial: MarketState,
  episodes: Episode[],
  valueBase: (asset: Address, amount: bigint, prices: Map<string, bigint>) => bigint,
): Promise<void> {
  for (const episode of episodes) {
    const o = episode.opportunity
    const anvil = await startAnvil({ forkUrl: rpcUrl, forkBlockNumber: episode.firstBlock, chainId })
    try {
      const client: PublicClient = httpClient(anvil.rpcUrl, chainId)
      const debtReserve = initial.reserves.get(o.repayAsset.toLowerCase())
      if (!debtReserve) throw new Error(`unknown debt asset ${o.repayAsset}`)
      await client.request({
        method: 'anvil_setBalance',
        params: [FORK_LIQUIDATOR, toHex(10n ** 20n)],
      } as never)
      await client.request({
        method: 'anvil_setBalance',
        params: [debtReserve.aToken, toHex(10n ** 20n)],
      } as never)
      await client.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
      // Funding, approval and the liquidation go into one block mined at the planned timestamp, so
      // interest accrues exactly as the mirror assumed.
      await client.request({ method: 'evm_setAutomine', params: [false] } as never)
      const send = (from: Address, to: Address, data: `0x${string}`) =>
        sendUnlocked(client, { from, to, data, gas: 3_000_000n })
      await send(
        debtReserve.aToken,
        o.repayAsset,
        encodeFunctionData({
          abi: erc20Abi,
          functionName: 'transfer',
          args: [FORK_LIQUIDATOR, o.repayAmount],
        }),
      )
      await send(
        FORK_LIQUIDATOR,
        o.repayAsset,
        encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [o.call.to, 2n ** 256n - 1n] }),
      )
      const hash = await send(FORK_LIQUIDATOR, o.call.to, o.call.data)
      await client.request({ method: 'evm_setNextBlockTimestamp', params: [toHex(o.atTimestamp)] } as never)
      await client.request({ method: 'evm_mine', params: [] } as never)
      const receipt = await waitForReceipt(client, hash)
      const minedAt = (await client.getBlock({ blockNumber: receipt.blockNumber })).timestamp
      const [event] = parseEventLogs({ abi: poolAbi, eventName: 'LiquidationCall', logs: receipt.logs })
      const result: ForkResult = {
        success: receipt.status === 'success' && event !== undefined,
        repaid: event?.args.debtToCover ?? 0n,
        received: event?.args.liquidatedCollateralAmount ?? 0n,
        gasUsed: receipt.gasUsed,
        timestamp: minedAt,
        agreesWithMirror:
          event?.args.debtToCover === o.repayAmount &&
          event?.args.liquidatedCollateralAmount === o.receiveAmount,
        profitBase: 0n,
      }
      if (result.success) {
        const value = (asset: Address, amount: bigint) => valueBase(asset, amount, episode.prices)
        const native = wrappedNative(initial)
        const gasBase = native ? value(native, receipt.gasUsed * receipt.effectiveGasPrice) : 0n
        result.profitBase =
          value(o.receiveAsset, result.received) - value(o.repayAsset, result.repaid) - gasBase
      } else {
        result.reason = 'reverted'
      }
      episode.fork = result
    } catch (error) {
      episode.fork = {
        success: false,
        repaid: 0n,
        received: 0n,
        gasUsed: 0n,
        timestamp: 0n,
        agreesWithMirror: false,
        profitBase: 0n,
        reason: errorText(error),
      }
    } finally {
      await anvil.stop()
    }
  }
}

function wrappedNative(market: MarketState): Address | undefined {
  for (const reserve of market.reserves.values())
    if (/^W?ETH$/i.test(reserve.symbol) && reserve.decimals === 18) return reserve.asset
  return undefined
}
