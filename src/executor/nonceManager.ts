/**
 * One nonce sequence per signer, shared by every submission lane, so a liquidation can never be
 * sent twice at two nonces. `take` hands out the next nonce; `resync` reads the pending count after
 * a send failed or a nonce was consumed elsewhere. A private lane's transaction reaches no node's
 * pool, so the pending count does not know it: nonces still held by transactions in flight are
 * never handed out again, and a nonce whose bundle was never included is `release`d and handed out
 * first (a gap below later nonces would hold every one of them back).
 */
import type { Address, PublicClient } from 'viem'

export interface NonceManager {
  take(): Promise<number>
  /** The nonce `take` would hand out next, if known (no RPC). */
  peek(): number | undefined
  resync(): Promise<void>
  /** A nonce that was taken and will never be used (its private submission expired unincluded). */
  release(nonce: number): void
}

export function createNonceManager(
  client: Pick<PublicClient, 'getTransactionCount'>,
  address: Address,
  /** Nonces of transactions in flight (sent, not settled). */
  held: () => Iterable<number> = () => [],
): NonceManager {
  let next: number | undefined
  /** Released nonces below `next`, handed out before it. */
  const free = new Set<number>()
  let syncing: Promise<void> | undefined
  const resync = () => {
    syncing ??= client
      .getTransactionCount({ address, blockTag: 'pending' })
      .then((pending) => {
        const inFlight = new Set(held())
        let top = pending
        for (const n of inFlight) if (n + 1 > top) top = n + 1
        next = top
        free.clear()
        for (let n = pending; n < top; n++) if (!inFlight.has(n)) free.add(n)
      })
      .finally(() => {
        syncing = undefined
      })
    return syncing
  }
  return {
    peek: () => (free.size > 0 ? Math.min(...free) : next),
    async take() {
      if (next === undefined) await resync()
      if (free.size > 0) {
        const lowest = Math.min(...free)
        free.delete(lowest)
        return lowest
      }
      const n = next as number
      next = n + 1
      return n
    },
    release(nonce) {
      if (next === undefined || nonce >= next) return
      if (nonce === next - 1) {
        next = nonce
        // Released nonces right below fold back too.
        while (free.has((next as number) - 1)) {
          next = (next as number) - 1
          free.delete(next)
        }
      } else free.add(nonce)
    },
    resync,
  }
}
