/**
 * Signing and the public-mempool lane. A lane takes a signed transaction and returns its hash;
 * other lanes (private bundles, order-flow auctions) implement the same shape.
 */
import type { Address, Client, Hex, LocalAccount } from 'viem'
import { sendRawTransaction } from 'viem/actions'
import { UsageError } from '../errors.js'
import type { GasBid } from './gasPolicy.js'

export interface TxRequest {
  nonce: number
  to: Address
  data: Hex
  value: bigint
  gas: bigint
  bid: GasBid
}

export interface SubmissionLane {
  readonly name: string
  submit(signed: Hex): Promise<Hex>
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
