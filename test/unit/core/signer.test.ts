import fc from 'fast-check'
import { type Hex, parseTransaction, recoverTransactionAddress, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { keyAccount, transactionSigner } from '../../../src/executor/signer.js'

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b))
// Any valid secp256k1 key: 1 ≤ k < n.
const key = fc
  .bigInt({ min: 1n, max: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140n })
  .map((k) => toHex(k, { size: 32 }))
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => toHex(b))

describe('transaction signer', () => {
  it('loads the native libsecp256k1 binding here (else the byte comparison below compares viem with itself)', () => {
    expect(transactionSigner).toBe('libsecp256k1')
  })

  it('signs EIP-1559 transactions byte for byte as viem does, recoverable to the key’s address', async () => {
    await fc.assert(
      fc.asyncProperty(
        key,
        address,
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(),
        fc.bigInt({ min: 21_000n, max: 30_000_000n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        async (k, to, data, nonce, gas, tip, value) => {
          const tx = {
            chainId: 8453,
            type: 'eip1559' as const,
            nonce,
            to: to as Hex,
            data: toHex(data),
            gas,
            maxFeePerGas: tip * 2n + 7n,
            maxPriorityFeePerGas: tip,
            value,
          }
          const fast = keyAccount(k as Hex)
          const signed = await fast.signTransaction(tx)
          expect(signed).toBe(await privateKeyToAccount(k as Hex).signTransaction(tx))
          expect(await recoverTransactionAddress({ serializedTransaction: signed as never })).toBe(
            fast.address,
          )
          expect(parseTransaction(signed).nonce).toBe(nonce)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('signs legacy transactions (EIP-155 v) as viem does', async () => {
    await fc.assert(
      fc.asyncProperty(key, bytes32, async (k, data) => {
        const tx = {
          chainId: 1,
          type: 'legacy' as const,
          nonce: 3,
          to: k.slice(0, 42) as Hex,
          data,
          gas: 90_000n,
          gasPrice: 10n ** 9n,
        }
        expect(await keyAccount(k as Hex).signTransaction(tx)).toBe(
          await privateKeyToAccount(k as Hex).signTransaction(tx),
        )
      }),
      { numRuns: 50 },
    )
  })

  it('has viem’s address and public key, and signs messages and typed data as viem does', async () => {
    await fc.assert(
      fc.asyncProperty(key, fc.string(), async (k, message) => {
        const fast = keyAccount(k as Hex)
        const viem = privateKeyToAccount(k as Hex)
        expect(fast.address).toBe(viem.address)
        expect(fast.publicKey).toBe(viem.publicKey)
        expect(await fast.signMessage({ message })).toBe(await viem.signMessage({ message }))
        const typed = {
          domain: { name: 'undertow', chainId: 1 },
          types: { Note: [{ name: 'text', type: 'string' }] },
          primaryType: 'Note' as const,
          message: { text: message },
        }
        expect(await fast.signTypedData(typed)).toBe(await viem.signTypedData(typed))
      }),
      { numRuns: 50 },
    )
  })

  it('refuses an invalid key (zero, or not below the curve order)', () => {
    expect(() => keyAccount(toHex(0n, { size: 32 }))).toThrow()
    expect(() => keyAccount('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141')).toThrow()
  })
})
