/**
 * The nonce manager shared by every lane: nonces held by private submissions are never handed out
 * again, even though the node's pending count does not know them; a released nonce is handed out
 * first, and releasing the top one folds the sequence back.
 */
import type { PublicClient } from 'viem'
import { describe, expect, it } from 'vitest'
import { createNonceManager } from '../../../src/executor/nonceManager.js'

const ADDRESS = '0x00000000000000000000000000000000000000a1'

function node(pending: () => number) {
  return { getTransactionCount: async () => pending() } as unknown as Pick<
    PublicClient,
    'getTransactionCount'
  >
}

describe('nonce manager', () => {
  it('hands out consecutive nonces from the pending count', async () => {
    const nonces = createNonceManager(
      node(() => 4),
      ADDRESS,
    )
    expect([await nonces.take(), await nonces.take(), await nonces.take()]).toEqual([4, 5, 6])
  })

  it('a released nonce below others is handed out first; releasing the top folds back', async () => {
    const nonces = createNonceManager(
      node(() => 0),
      ADDRESS,
    )
    const [a, b, c] = [await nonces.take(), await nonces.take(), await nonces.take()]
    expect([a, b, c]).toEqual([0, 1, 2])
    nonces.release(1)
    expect(await nonces.take()).toBe(1)
    nonces.release(2)
    nonces.release(1)
    // 2 was the top: next is 2, then 1 folds in as well.
    expect(await nonces.take()).toBe(1)
    expect(await nonces.take()).toBe(2)
    expect(await nonces.take()).toBe(3)
  })

  it('resync never hands out a nonce a private submission still holds', async () => {
    // The node knows 3 mined transactions; bundles hold nonces 3 and 5 (4 expired, released).
    const held = [3, 5]
    const nonces = createNonceManager(
      node(() => 3),
      ADDRESS,
      () => held,
    )
    await nonces.resync()
    expect(await nonces.take()).toBe(4)
    expect(await nonces.take()).toBe(6)
  })
})
