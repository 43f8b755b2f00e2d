/**
 * The liquidator's account, signing transactions with libsecp256k1 (the `secp256k1` package's
 * prebuilt N-API binding) where it loads. A batch of backruns is signed on the hot path one after
 * another on the event loop: measured here, viem's JavaScript signer takes ~0.5 ms per transaction
 * and the binding ~0.04 ms, so fifty signatures go from ~25 ms to ~2 ms. Both sign by RFC 6979
 * (deterministic nonce, low s), so the signed bytes are the same either way (a unit test holds them
 * equal); messages and typed data keep viem's signer.
 */
import { createRequire } from 'node:module'
import {
  type Hex,
  hexToBytes,
  keccak256,
  type LocalAccount,
  type SerializeTransactionFn,
  serializeTransaction,
  toHex,
} from 'viem'
import { privateKeyToAccount, publicKeyToAddress, toAccount } from 'viem/accounts'

interface NativeSecp256k1 {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number }
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array
}

/** The binding itself, not the package's index (which would fall back to a slower JS curve). */
function loadNative(): NativeSecp256k1 | undefined {
  try {
    return createRequire(import.meta.url)('secp256k1/bindings.js') as NativeSecp256k1
  } catch {
    return undefined
  }
}

const native = loadNative()

/** Which implementation signs transactions (the daemon logs it at start). */
export const transactionSigner: 'libsecp256k1' | 'js' = native ? 'libsecp256k1' : 'js'

/**
 * A viem local account for the key; its signTransaction uses the native binding when present. With
 * the binding, the address comes from its public key too and viem's own account (whose first use
 * builds the JavaScript curve's tables: ~50 ms of every start, measured) is made only if a message
 * or typed data is ever signed.
 */
export function keyAccount(privateKey: Hex, useNative = true): LocalAccount {
  if (!native || !useNative) return privateKeyToAccount(privateKey)
  const secp = native
  const keyBytes = hexToBytes(privateKey)
  const publicKey = toHex(secp.publicKeyCreate(keyBytes, false))
  let js: LocalAccount | undefined
  const viemAccount = () => {
    js ??= privateKeyToAccount(privateKey)
    return js
  }
  const account = toAccount({
    address: publicKeyToAddress(publicKey),
    sign: (args) => viemAccount().sign?.(args) as Promise<Hex>,
    signAuthorization: (args) => viemAccount().signAuthorization?.(args) as never,
    signMessage: (args) => viemAccount().signMessage(args),
    signTypedData: (args) => viemAccount().signTypedData(args as never),
    async signTransaction(transaction, options) {
      const serializer = (options?.serializer ?? serializeTransaction) as SerializeTransactionFn
      // The signed payload never carries a 4844 sidecar (as in viem's own signer).
      const signable = transaction.type === 'eip4844' ? { ...transaction, sidecars: false } : transaction
      const digest = hexToBytes(keccak256(await serializer(signable as never)))
      const { signature, recid } = secp.ecdsaSign(digest, keyBytes)
      const r = toHex(signature.subarray(0, 32))
      const s = toHex(signature.subarray(32, 64))
      const yParity = recid & 1
      return (await serializer(transaction as never, {
        r,
        s,
        yParity,
        v: BigInt(27 + yParity),
      })) as never
    },
  })
  return { ...account, publicKey, source: 'privateKey' }
}
