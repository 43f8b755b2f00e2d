/**
 * A backtest dataset: the strategy's state at the first block (its snapshot), then every header and
 * every followed log up to the last block, gzip-compressed JSON. `record` writes one; RPC-mode
 * backtests build the same object in memory, so dataset mode and RPC mode run the identical replay.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { Hex, PublicClient } from 'viem'
import { getLogsChunked } from '../chain/getLogsChunked.js'
import type { ChainLog } from '../chain/types.js'
import { UsageError } from '../errors.js'
import { decodeState, encodeState } from '../store/snapshotStore.js'
import type { Strategy } from '../types.js'

export interface DatasetHeader {
  number: bigint
  hash: Hex
  timestamp: bigint
  baseFeePerGas: bigint
}

export interface Dataset {
  format: 2
  strategy: string
  chainId: number
  /** The deployment's identity (ResolvedTarget.id) and the options the strategy was created with. */
  target: string
  options: unknown
  fromBlock: bigint
  toBlock: bigint
  /** strategy.snapshot() at fromBlock. */
  initial: unknown
  headers: DatasetHeader[]
  logs: ChainLog[]
}

export interface RecordParams {
  chainId: number
  target: string
  options: unknown
  fromBlock: bigint
  toBlock: bigint
  onProgress?: ((done: number, total: number) => void) | undefined
}

/**
 * Records blocks (fromBlock, toBlock] for a strategy whose head is `fromBlock` (built there, or
 * restored from a state known at that block: a node that prunes old state cannot build it).
 */
export async function recordDataset(
  client: PublicClient,
  strategy: Strategy,
  params: RecordParams,
): Promise<Dataset> {
  if (params.fromBlock > params.toBlock)
    throw new UsageError(`--from ${params.fromBlock} is after --to ${params.toBlock}`)
  const head = await client.getBlockNumber({ cacheTime: 0 })
  if (params.toBlock > head)
    throw new UsageError(`the node has blocks up to ${head}; --to ${params.toBlock} is beyond its head`)
  if (strategy.head.number !== params.fromBlock)
    throw new UsageError(
      `the strategy is at block ${strategy.head.number}, not at --from ${params.fromBlock}`,
    )
  // Encoded now: the strategy's state object may be advanced later (an in-memory RPC backtest).
  const initial = decodeState(encodeState(strategy.snapshot()))
  const filter = strategy.logFilter()
  const logs: ChainLog[] = []
  await getLogsChunked(client, {
    address: filter.addresses,
    events: filter.events,
    fromBlock: params.fromBlock + 1n,
    toBlock: params.toBlock,
    onChunk: (chunk) => {
      logs.push(...chunk)
    },
  })
  const numbers: bigint[] = []
  for (let n = params.fromBlock + 1n; n <= params.toBlock; n++) numbers.push(n)
  const headers: DatasetHeader[] = new Array(numbers.length)
  let next = 0
  let done = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < numbers.length; i = next++) {
        const block = await client.getBlock({ blockNumber: numbers[i] as bigint })
        headers[i] = {
          number: block.number,
          hash: block.hash,
          timestamp: block.timestamp,
          baseFeePerGas: block.baseFeePerGas ?? 0n,
        }
        if (++done % 500 === 0) params.onProgress?.(done, numbers.length)
      }
    }),
  )
  return {
    format: 2,
    strategy: strategy.name,
    chainId: params.chainId,
    target: params.target,
    options: params.options,
    fromBlock: params.fromBlock,
    toBlock: params.toBlock,
    initial,
    headers,
    logs,
  }
}

export function writeDataset(path: string, dataset: Dataset): void {
  writeFileSync(path, gzipSync(encodeState(dataset)))
}

export function readDataset(path: string): Dataset {
  let raw: Buffer
  try {
    raw = readFileSync(path)
  } catch {
    throw new UsageError(`dataset ${path} cannot be read`)
  }
  let dataset: Dataset
  try {
    dataset = decodeState(gunzipSync(raw).toString('utf8')) as Dataset
  } catch {
    throw new UsageError(`dataset ${path} is corrupt (not a gzip-compressed undertow dataset)`)
  }
  if (
    dataset?.format !== 2 ||
    typeof dataset.strategy !== 'string' ||
    !Array.isArray(dataset.headers) ||
    !Array.isArray(dataset.logs) ||
    dataset.initial === undefined
  ) {
    throw new UsageError(`dataset ${path} is corrupt (missing headers, logs or initial state)`)
  }
  return dataset
}
