/**
 * eth_getLogs over a long range in chunks whose size adapts to the node: a "range too large" or
 * "too many results" answer halves the chunk, a success grows it back. Chunks are delivered in order.
 */
import { type Address, type Hex, type PublicClient, toHex } from 'viem'
import { RetryableError, shouldRetry } from '../errors.js'
import type { ChainLog } from './types.js'

export interface GetLogsParams {
  address: Address[]
  /** topics[0] alternatives (event selectors); undefined = every event of those addresses. */
  events?: Hex[]
  fromBlock: bigint
  toBlock: bigint
  initialChunk?: bigint
  maxChunk?: bigint
  onChunk(logs: ChainLog[], fromBlock: bigint, toBlock: bigint): void | Promise<void>
}

const TOO_LARGE = /range|too many|limit|exceed|10000|query returned more|response size/i

export async function getLogsChunked(
  client: PublicClient,
  params: GetLogsParams,
): Promise<{ requests: number }> {
  let chunk = params.initialChunk ?? 5_000n
  const maxChunk = params.maxChunk ?? 100_000n
  let from = params.fromBlock
  let requests = 0
  let failures = 0
  while (from <= params.toBlock) {
    const to = from + chunk - 1n > params.toBlock ? params.toBlock : from + chunk - 1n
    let logs: ChainLog[]
    try {
      requests++
      logs = await fetchLogs(client, params.address, params.events, from, to)
    } catch (error) {
      const message =
        error instanceof Error ? `${error.message} ${(error as { details?: string }).details ?? ''}` : ''
      if (chunk > 1n && TOO_LARGE.test(message)) {
        chunk /= 2n
        continue
      }
      // Only transient failures are worth waiting for; anything else is the caller's to handle now.
      if (!shouldRetry(error)) throw error
      if (++failures > 5)
        throw new RetryableError(`eth_getLogs failed for blocks ${from}-${to}`, { cause: error })
      await new Promise((resolve) => setTimeout(resolve, 200 * failures))
      continue
    }
    failures = 0
    await params.onChunk(logs, from, to)
    from = to + 1n
    if (chunk < maxChunk) chunk *= 2n
  }
  return { requests }
}

/** Mined logs always carry these; a node that omits one answered garbage. */
function required<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined)
    throw new RetryableError(`eth_getLogs returned a log without ${field}`)
  return value
}

/** Raw eth_getLogs (one request), decoded to bigints; keeps the node's blockTimestamp when it sends one. */
export async function fetchLogs(
  client: PublicClient,
  address: Address[],
  events: Hex[] | undefined,
  fromBlock: bigint,
  toBlock: bigint,
): Promise<ChainLog[]> {
  const raw = await client.request({
    method: 'eth_getLogs',
    params: [
      {
        address,
        fromBlock: toHex(fromBlock),
        toBlock: toHex(toBlock),
        ...(events ? { topics: [events] } : {}),
      },
    ],
  })
  return raw.map((log) => ({
    address: log.address,
    topics: log.topics as ChainLog['topics'],
    data: log.data,
    blockNumber: BigInt(required(log.blockNumber, 'blockNumber')),
    blockHash: required(log.blockHash, 'blockHash'),
    logIndex: Number(required(log.logIndex, 'logIndex')),
    transactionHash: required(log.transactionHash, 'transactionHash'),
    blockTimestamp: log.blockTimestamp ? BigInt(log.blockTimestamp) : null,
  }))
}
