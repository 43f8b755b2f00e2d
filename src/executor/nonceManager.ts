/**
 * One nonce sequence per signer, shared by every submission lane, so a liquidation can never be
 * sent twice at two nonces. `take` hands out the next nonce; `resync` reads the pending count after
 * a send failed or a nonce was consumed elsewhere.
 */
import type { Address, PublicClient } from 'viem'

export interface NonceManager {
  take(): Promise<number>
  /** The nonce `take` would hand out next, if known (no RPC). */
  peek(): number | undefined
  resync(): Promise<void>
}

export function createNonceManager(client: PublicClient, address: Address): NonceManager {
  let next: number | undefined
  let syncing: Promise<void> | undefined
  const resync = () => {
    syncing ??= client
      .getTransactionCount({ address, blockTag: 'pending' })
      .then((n) => {
        next = n
      })
      .finally(() => {
        syncing = undefined
      })
    return syncing
  }
  return {
    peek: () => next,
    async take() {
      if (next === undefined) await resync()
      const n = next as number
      next = n + 1
      return n
    },
    resync,
  }
}
