/**
 * Signing and the public-mempool lane. A lane takes a signed transaction and returns its hash;
 * the private lanes (bundles to builders, order-flow auctions: bundleLane.ts) implement the same
 * shape and are resent each block until included.
 */
import type { Address, Client, Hex, LocalAccount } from 'viem'
import { sendRawTransaction } from 'viem/actions'
import { UsageError } from '../errors.js'
import type { Opportunity } from '../types.js'
import type { GasBid } from './gasPolicy.js'

export interface TxRequest {
  nonce: number
  to: Address
  data: Hex
  value: bigint
  gas: bigint
  bid: GasBid
}

/** What a lane may need besides the signed bytes: the liquidation it carries and the head it is sent at. */
export interface LaneContext {
  /** Absent for approvals and cancels. */
  opportunity?: Opportunity | undefined
  /** Bundles target the blocks after this one. */
  headNumber: bigint
  /** A backrun whose oracle update has landed (without it) is sent on its own. */
  dependencyLanded?: boolean
  /** The signing wallet (with hot wallets, two transactions can share a nonce but not a sender). */
  sender?: Address | undefined
}

export interface SubmissionLane {
  readonly name: string
  /**
   * Private lanes reach no mempool: what they send lives only for the blocks it targets, so the
   * tracker resends it each block until it is included, and its nonce is free again if it never is.
   */
  readonly private: boolean
  /** Blocks one private submission targets (after the head it is sent at). */
  readonly targetBlocks: number
  submit(signed: Hex, context: LaneContext): Promise<Hex>
  /** A transaction of this lane landed in `blockNumber` (private lanes credit the builder). */
  included?(blockNumber: bigint): Promise<void>
}

export function signTx(account: LocalAccount, chainId: number, tx: TxRequest): Promise<Hex> {
  if (!account.signTransaction) throw new UsageError('the signing account cannot sign transactions')
  return account.signTransaction({
    chainId,
    type: 'eip1559',
    nonce: tx.nonce,
    to: tx.to,
    data: tx.data,
    gas: tx.gas,
    maxFeePerGas: tx.bid.maxFeePerGas,
    maxPriorityFeePerGas: tx.bid.maxPriorityFeePerGas,
    value: tx.value,
  })
}

/** eth_sendRawTransaction to the node (over the WebSocket when there is one: one hop less). */
export function createPublicLane(client: Client): SubmissionLane {
  return {
    name: 'public',
    private: false,
    targetBlocks: 0,
    submit: (signed) => sendRawTransaction(client, { serializedTransaction: signed }),
  }
}

/**
 * The same signed transaction to several endpoints at once (the public mempool, seen from each):
 * the first to accept it gives the hash; it fails only when every endpoint refused.
 */
export function createBroadcastLane(clients: Client[]): SubmissionLane {
  return {
    name: 'public',
    private: false,
    targetBlocks: 0,
    async submit(signed) {
      const attempts = clients.map((client) => sendRawTransaction(client, { serializedTransaction: signed }))
      try {
        return await Promise.any(attempts)
      } catch (error) {
        throw (error as AggregateError).errors?.[0] ?? error
      }
    },
  }
}
