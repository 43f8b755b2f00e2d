/**
 * Many read-only calls at one block: batched through a Multicall3-compatible contract when one is
 * known (one eth_call per `batchSize` calls), otherwise as parallel eth_calls. Each result is the
 * decoded value or an Error, in the order of the calls.
 */
import type { Abi, Address, PublicClient } from 'viem'

export interface ReadCall {
  address: Address
  abi: Abi
  functionName: string
  args?: readonly unknown[]
}

export interface ReadOptions {
  multicallAddress?: Address | undefined
  blockNumber?: bigint | undefined
  batchSize?: number
}

export async function readMany(
  client: PublicClient,
  calls: readonly ReadCall[],
  options: ReadOptions = {},
): Promise<unknown[]> {
  const blockNumber = options.blockNumber
  if (options.multicallAddress) {
    const size = options.batchSize ?? 500
    const out: unknown[] = []
    const batches: Promise<unknown[]>[] = []
    for (let i = 0; i < calls.length; i += size) {
      const chunk = calls.slice(i, i + size)
      batches.push(
        client
          .multicall({
            contracts: chunk as never,
            allowFailure: true,
            multicallAddress: options.multicallAddress,
            batchSize: 0,
            ...(blockNumber !== undefined ? { blockNumber } : {}),
          })
          .then((results) =>
            (results as { status: string; result?: unknown; error?: Error }[]).map((r) =>
              r.status === 'success' ? r.result : (r.error ?? new Error('call failed')),
            ),
          ),
      )
    }
    for (const batch of await Promise.all(batches)) out.push(...batch)
    return out
  }
  return Promise.all(
    calls.map((call) =>
      client
        .readContract({
          ...call,
          args: call.args ?? [],
          ...(blockNumber !== undefined ? { blockNumber } : {}),
        } as never)
        .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    ),
  )
}
