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
