/**
 * Execution-accurate backtest: for each opportunity, fork the chain with anvil at the block where
 * Undertow detected it, let the strategy prepare a fresh liquidator (inventory, approvals), and
 * send the very call Undertow planned, in one block mined at the timestamp it planned for. What
 * landed is read back with the strategy's own decoder and compared with its prediction to the unit;
 * profit is the opportunity's probes read before and after, minus gas.
 */
import { type Address, type Hex, hexToBigInt, type PublicClient } from 'viem'
import { call } from 'viem/actions'
import { devActions } from '../chain/devActions.js'
import { httpClient, sendUnlocked, waitForReceipt } from '../chain/rpc.js'
import { startAnvil } from '../chain/startAnvil.js'
import { receiptLogs } from '../chain/types.js'
import { errorText } from '../errors.js'
import type { BacktestHooks } from '../strategyModule.js'
import type { Opportunity, Strategy } from '../types.js'
import type { Episode, ForkResult } from './replay.js'

const FORK_LIQUIDATOR: Address = '0x000000000000000000000000000000000000f0c5'

async function readProbes(client: PublicClient, opportunity: Opportunity, from: Address): Promise<bigint[]> {
  return Promise.all(
    opportunity.probes.map(async (probe) => {
      const { data } = await call(client, { account: from, to: probe.to, data: probe.calldata(from) })
      const word = (data ?? '0x').slice(0, 66) as Hex
      return word === '0x' ? 0n : hexToBigInt(word, { signed: probe.signed ?? false })
    }),
  )
}

export async function forkExecute(
  rpcUrl: string,
  chainId: number,
  strategy: Strategy,
  hooks: BacktestHooks,
  episodes: Episode[],
): Promise<void> {
  for (const episode of episodes) {
    const o = episode.opportunity
    const anvil = await startAnvil({ forkUrl: rpcUrl, forkBlockNumber: episode.firstBlock, chainId })
    try {
      const client: PublicClient = httpClient(anvil.rpcUrl, chainId)
      const dev = devActions(client)
      await dev.setBalance({ address: FORK_LIQUIDATOR, value: 10n ** 20n })
      await dev.impersonateAccount({ address: FORK_LIQUIDATOR })
      // Preparation and the call go into one block mined at the planned timestamp, so interest
      // accrues exactly as the mirror assumed.
      await dev.setAutomine(false)
      await hooks.prepareFork(client, strategy, o, FORK_LIQUIDATOR)
      const before = await readProbes(client, o, FORK_LIQUIDATOR)
      const hash = await sendUnlocked(client, {
        from: FORK_LIQUIDATOR,
        to: o.call.to,
        data: o.call.data,
        value: o.call.value,
        gas: 3_000_000n,
      })
      await dev.setNextBlockTimestamp({ timestamp: o.atTimestamp })
      await dev.mine({ blocks: 1 })
      const receipt = await waitForReceipt(client, hash)
      const after = await readProbes(client, o, FORK_LIQUIDATOR)
      const minedAt = (await client.getBlock({ blockNumber: receipt.blockNumber })).timestamp
      const logs = receiptLogs(receipt.logs, minedAt)
      const event = strategy
        .liquidationsIn(logs)
        .find((e) => e.account.toLowerCase() === o.account.toLowerCase())
      const success = receipt.status === 'success' && event !== undefined
      let profitBase = 0n
      if (success) {
        o.probes.forEach((probe, i) => {
          profitBase += probe.valueBase((after[i] ?? 0n) - (before[i] ?? 0n))
        })
        profitBase -= (receipt.gasUsed * receipt.effectiveGasPrice * episode.nativePriceBase) / 10n ** 18n
      }
      const result: ForkResult = {
        success,
        gasUsed: receipt.gasUsed,
        timestamp: minedAt,
        agreesWithMirror: event !== undefined && strategy.agrees(o, event),
        profitBase,
        ...(event ? { details: event.details } : {}),
        ...(success ? {} : { reason: 'reverted' }),
      }
      episode.fork = result
    } catch (error) {
      episode.fork = {
        success: false,
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
