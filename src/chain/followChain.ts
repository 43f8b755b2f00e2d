/**
 * Follows the chain for one strategy: for each head, fetch the strategy's followed logs since its
 * head (chunked, so a long gap is many bounded requests), group them by block and hand them over;
 * detect reorgs (a head that does not extend ours, or a gap whose start is no longer canonical),
 * find the common ancestor among the heads we processed, roll the strategy back to the newest
 * checkpoint at or below it and replay. A reorg deeper than every checkpoint rebuilds from logs.
 * Invariant: after sync(header) resolves, the strategy's head is `header` and no block was skipped.
 */
import type { Hex, PublicClient } from 'viem'
import type { Logger } from '../logger.js'
import type { BlockHeader, BlockLogs, BlockRef, LiquidationEvent, Strategy, SyncResult } from '../types.js'
import { getLogsChunked } from './getLogsChunked.js'
import type { ChainLog } from './types.js'

export interface ChainFollowerSettings {
  /** Blocks between reorg checkpoints. */
  checkpointEvery: bigint
  checkpointsKept: number
  /** Processed head hashes kept to find a common ancestor. */
  hashesKept: bigint
}

export const DEFAULT_FOLLOWER_SETTINGS: ChainFollowerSettings = {
  checkpointEvery: 16n,
  checkpointsKept: 4,
  hashesKept: 256n,
}

export interface ChainFollower {
  sync(header: BlockHeader): Promise<SyncResult>
}

/** Groups logs (in log order) by block, with each block's timestamp (fetched where the node gave none). */
export async function groupByBlock(client: PublicClient | undefined, logs: readonly ChainLog[]) {
  const blocks: BlockLogs[] = []
  let i = 0
  while (i < logs.length) {
    const first = logs[i] as ChainLog
    let j = i
    while (j < logs.length && (logs[j] as ChainLog).blockNumber === first.blockNumber) j++
    let timestamp = first.blockTimestamp
    if (timestamp === null) {
      if (!client) throw new Error(`log of block ${first.blockNumber} has no timestamp and there is no node`)
      timestamp = (await client.getBlock({ blockNumber: first.blockNumber })).timestamp
    }
    blocks.push({ number: first.blockNumber, timestamp, logs: logs.slice(i, j) })
    i = j
  }
  return blocks
}

/**
 * Fetches the strategy's logs for (its head, head] and advances it to `head`. A long gap (an outage,
 * an old snapshot) is applied chunk by chunk as the logs arrive, each chunk ending at a real block,
 * so a failure part-way resumes from the last applied chunk instead of from the start.
 */
export async function advanceStrategy(
  client: PublicClient,
  strategy: Strategy,
  head: BlockRef,
): Promise<SyncResult> {
  const from = strategy.head.number + 1n
  if (head.number < from) return { changedAccounts: 0 }
  const filter = strategy.logFilter()
  const last: ChainLog[] = []
  /** Liquidations in every chunk applied, not only the last one (the bid learner reads them all). */
  const liquidations: LiquidationEvent[] = []
  let changed = 0
  await getLogsChunked(client, {
    address: filter.addresses,
    events: filter.events,
    fromBlock: from,
    toBlock: head.number,
    onChunk: async (chunk, _from, to) => {
      if (to >= head.number) {
        last.push(...chunk)
        return
      }
      const block = await client.getBlock({ blockNumber: to })
      const partial = { number: to, hash: block.hash, timestamp: block.timestamp }
      changed += (await strategy.advance(await groupByBlock(client, chunk), partial)).changedAccounts
      liquidations.push(...strategy.liquidationsIn(chunk))
    },
  })
  const result = await strategy.advance(await groupByBlock(client, last), head)
  liquidations.push(...strategy.liquidationsIn(last))
  return {
    ...result,
    changedAccounts: changed + result.changedAccounts,
    ...(liquidations.length > 0 ? { liquidations } : {}),
  }
}

export function createChainFollower(params: {
  client: PublicClient
  strategy: Strategy
  log: Logger
  settings?: ChainFollowerSettings
}): ChainFollower {
  const { client, strategy, log } = params
  const settings = params.settings ?? DEFAULT_FOLLOWER_SETTINGS
  let checkpoints: { block: bigint; state: unknown }[] = [
    { block: strategy.head.number, state: strategy.checkpoint() },
  ]
  /** Hashes of the heads we processed, to find the common ancestor after a reorg. */
  const processed = new Map<bigint, Hex>([[strategy.head.number, strategy.head.hash]])

  const remember = () => {
    const head = strategy.head
    processed.set(head.number, head.hash)
    for (const n of processed.keys()) if (n < head.number - settings.hashesKept) processed.delete(n)
    const last = checkpoints[checkpoints.length - 1]
    if (!last || head.number - last.block >= settings.checkpointEvery) {
      checkpoints.push({ block: head.number, state: strategy.checkpoint() })
      if (checkpoints.length > settings.checkpointsKept)
        checkpoints = checkpoints.slice(-settings.checkpointsKept)
    }
  }

  async function findAncestor(): Promise<bigint | undefined> {
    const numbers = [...processed.keys()].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
    for (const n of numbers) {
      const canonical = await client.getBlock({ blockNumber: n })
      if (canonical.hash === processed.get(n)) return n
    }
    return undefined
  }

  async function rollback(header: BlockHeader): Promise<SyncResult> {
    const ancestor = await findAncestor()
    const checkpoint =
      ancestor === undefined ? undefined : [...checkpoints].reverse().find((c) => c.block <= ancestor)
    for (const n of [...processed.keys()]) if (ancestor === undefined || n > ancestor) processed.delete(n)
    if (!checkpoint || ancestor === undefined) {
      log.warn({ head: header.number }, 'reorg deeper than the kept checkpoints: rebuilding the mirror')
      await strategy.rebuild(header)
      checkpoints = [{ block: strategy.head.number, state: strategy.checkpoint() }]
      remember()
      return { changedAccounts: strategy.accountCount(), rebuilt: true }
    }
    checkpoints = checkpoints.filter((c) => c.block <= checkpoint.block)
    strategy.restoreCheckpoint(checkpoint.state)
    await advanceStrategy(client, strategy, header)
    remember()
    log.warn(
      { ancestor, checkpoint: checkpoint.block, head: header.number },
      'reorg: mirror rolled back and replayed',
    )
    return { changedAccounts: strategy.accountCount(), reorgedTo: ancestor }
  }

  return {
    async sync(header) {
      const current = strategy.head
      if (header.number === current.number && header.hash === current.hash) return { changedAccounts: 0 }
      const extendsHead = header.number === current.number + 1n && header.parentHash === current.hash
      if (!extendsHead) {
        let reorg = header.number <= current.number || header.number === current.number + 1n
        if (!reorg) {
          // A gap: our head must still be canonical, or blocks we applied were reorged out.
          const canonical = await client.getBlock({ blockNumber: current.number })
          reorg = canonical.hash !== current.hash
        }
        if (reorg) return rollback(header)
      }
      const result = await advanceStrategy(client, strategy, header)
      remember()
      return result
    },
  }
}
