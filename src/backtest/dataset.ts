/**
 * A backtest dataset: the mirror at the first block, then every header and every followed log up
 * to the last block, gzip-compressed JSON. `record` writes one; RPC-mode backtests build the same
 * object in memory, so dataset mode and RPC mode run the identical replay.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { Address, Hex, PublicClient } from 'viem'
import { buildMirror, followedEvents, watchedAddresses } from '../../strategies/aave-v3/buildMirror.js'
import type { MarketState } from '../../strategies/aave-v3/state.js'
import { getLogsChunked } from '../chain/getLogsChunked.js'
import type { ChainLog } from '../chain/types.js'
import { UsageError } from '../errors.js'
import { decodeState, encodeState } from '../store/snapshotStore.js'

export interface DatasetHeader {
  number: bigint
  hash: Hex
  timestamp: bigint
  baseFeePerGas: bigint
}

export interface Dataset {
  format: 1
  strategy: 'aave-v3'
  chainId: number
  addressesProvider: Address
  fromBlock: bigint
  toBlock: bigint
  initial: MarketState
  headers: DatasetHeader[]
  logs: ChainLog[]
}

export interface RecordParams {
  chainId: number
  addressesProvider: Address
  multicall: Address | undefined
  indexFromBlock: bigint
  fromBlock: bigint
  toBlock: bigint
  onProgress?: ((done: number, total: number) => void) | undefined
  /** The mirror at fromBlock when already known (a node that prunes old state cannot build it). */
  initial?: MarketState | undefined
}

export async function recordDataset(client: PublicClient, params: RecordParams): Promise<Dataset> {
  if (params.fromBlock > params.toBlock)
    throw new UsageError(`--from ${params.fromBlock} is after --to ${params.toBlock}`)
  const head = await client.getBlockNumber({ cacheTime: 0 })
  if (params.toBlock > head)
    throw new UsageError(`the node has blocks up to ${head}; --to ${params.toBlock} is beyond its head`)
  const initial =
    params.initial ??
    (
      await buildMirror(client, {
        addressesProvider: params.addressesProvider,
        multicallAddress: params.multicall,
        fromBlock: params.indexFromBlock,
        toBlock: params.fromBlock,
      })
    ).market
  const logs: ChainLog[] = []
  await getLogsChunked(client, {
    address: watchedAddresses(initial),
    events: followedEvents(),
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
    format: 1,
    strategy: 'aave-v3',
    chainId: params.chainId,
    addressesProvider: params.addressesProvider,
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
    dataset?.format !== 1 ||
    !Array.isArray(dataset.headers) ||
    !Array.isArray(dataset.logs) ||
    !dataset.initial?.reserves
  ) {
    throw new UsageError(`dataset ${path} is corrupt (missing headers, logs or initial state)`)
  }
  return dataset
}
