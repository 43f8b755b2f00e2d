/** Chain data shapes shared by collectors and strategies. */
import type { Address, Hex } from 'viem'

export interface ChainLog {
  address: Address
  topics: Hex[]
  data: Hex
  blockNumber: bigint
  blockHash: Hex
  logIndex: number
  transactionHash: Hex
  /** Sent by anvil and recent nodes; null where the node omits it (then the header is fetched). */
  blockTimestamp: bigint | null
}

/** A receipt's logs as ChainLogs (receipts carry no block timestamp unless it is given). */
export function receiptLogs(
  logs: readonly {
    address: Address
    topics: readonly Hex[]
    data: Hex
    blockNumber: bigint
    blockHash: Hex
    logIndex: number
    transactionHash: Hex
  }[],
  blockTimestamp: bigint | null = null,
): ChainLog[] {
  return logs.map((l) => ({
    address: l.address,
    topics: [...l.topics],
    data: l.data,
    blockNumber: l.blockNumber,
    blockHash: l.blockHash,
    logIndex: l.logIndex,
    transactionHash: l.transactionHash,
    blockTimestamp,
  }))
}
