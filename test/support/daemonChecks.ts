/**
 * Independent checks of what the daemon did, from the chain: each liquidation's amounts against a
 * mirror rebuilt from logs at the block before it, and whether anything profitable was left.
 */
import { type Address, decodeFunctionData, type PublicClient, parseUnits } from 'viem'
import { fetchLogs } from '../../src/chain/getLogsChunked.js'
import type { Daemon } from '../../src/daemon.js'
import type { ExecutionRecord } from '../../src/executor/executor.js'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import { applyLogs } from '../../strategies/aave-v3/applyLogs.js'
import { buildMirror, followedEvents, watchedAddresses } from '../../strategies/aave-v3/buildMirror.js'
import { createMarketView, quoteLiquidation, userAccountData } from '../../strategies/aave-v3/math.js'

export async function independentPredictions(
  client: PublicClient,
  addressesProvider: Address,
  multicall: Address,
  records: ExecutionRecord[],
) {
  const out: { record: ExecutionRecord; predicted: { repaid: bigint; received: bigint } }[] = []
  const blocks = [...new Set(records.map((r) => r.blockNumber))]
  for (const block of blocks) {
    const { market } = await buildMirror(client, {
      addressesProvider,
      multicallAddress: multicall,
      fromBlock: 0n,
      toBlock: block - 1n,
    })
    const timestamp = (await client.getBlock({ blockNumber: block })).timestamp
    // The state a liquidation met: the block before, plus the block's own earlier transactions
    // (the oracle update it backran, other liquidations), applied in log order.
    const blockLogs = await fetchLogs(client, watchedAddresses(market), followedEvents(), block, block)
    let applied = 0
    const inBlock = records.filter((r) => r.blockNumber === block)
    const firstLog = (r: ExecutionRecord) => blockLogs.findIndex((log) => log.transactionHash === r.hash)
    inBlock.sort((a, b) => firstLog(a) - firstLog(b))
    for (const record of inBlock) {
      const upTo = firstLog(record)
      applyLogs(market, blockLogs.slice(applied, upTo), timestamp)
      applied = upTo
      const view = createMarketView(market, timestamp)
      const tx = await client.getTransaction({ hash: record.hash })
      const call = decodeFunctionData({ abi: poolAbi, data: tx.input })
      if (call.functionName !== 'liquidationCall') throw new Error('not a liquidation')
      const [collateral, debt, user, requested] = call.args
      const position = market.accounts.get(user.toLowerCase())
      if (!position) throw new Error(`no position for ${user}`)
      const account = userAccountData(view, position)
      const c = market.reserves.get(collateral.toLowerCase())
      const d = market.reserves.get(debt.toLowerCase())
      const quote = c && d ? quoteLiquidation(view, position, account, c.id, d.id, requested) : undefined
      out.push({
        record,
        predicted: { repaid: quote?.debtToCover ?? -1n, received: quote?.collateralReceived ?? -1n },
      })
    }
  }
  return out
}

/** Profitable opportunities still open at the daemon's head (at least `minProfitUsd`). */
export function openProfitable(daemon: Daemon, minProfitUsd = '5') {
  const head = daemon.strategy.head
  return daemon.strategy
    .plan({ timestamp: head.timestamp + 1n, gasPriceWei: 2n * 10n ** 9n })
    .filter((o) => o.netProfitBase >= parseUnits(minProfitUsd, 8))
}
