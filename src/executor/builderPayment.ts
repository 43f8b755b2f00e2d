/**
 * What a landed transaction paid the block's builder directly: ETH sent to the block's fee
 * recipient (coinbase) inside it — how bundle searchers bid, and invisible in a receipt. Read from
 * the node's call trace (debug_traceTransaction with the callTracer), summing the value of every
 * call frame to the coinbase that did not revert (a reverted frame's transfer never happened).
 * A node that does not trace is asked once: the bid learner then learns priority fees alone.
 */
import type { Address, Hex, PublicClient } from 'viem'
import { errorText, retryTransient } from '../errors.js'
import type { Logger } from '../logger.js'

/** One frame of the callTracer's output (only the fields read here). */
export interface CallFrame {
  type?: string
  to?: string
  value?: string
  error?: string
  calls?: CallFrame[]
}

/** Frames that move value to their target (DELEGATECALL and STATICCALL carry none of their own). */
const VALUE_FRAMES = new Set(['CALL', 'CREATE', 'CREATE2', 'SELFDESTRUCT'])

/** Wei that reached `coinbase` through the frame and its children (reverted subtrees excluded). */
export function coinbasePaidWei(frame: CallFrame, coinbase: Address): bigint {
  if (frame.error) return 0n
  let paid = 0n
  const type = (frame.type ?? 'CALL').toUpperCase()
  if (VALUE_FRAMES.has(type) && frame.to?.toLowerCase() === coinbase.toLowerCase() && frame.value)
    paid += BigInt(frame.value)
  for (const child of frame.calls ?? []) paid += coinbasePaidWei(child, coinbase)
  return paid
}

/** The node says it has no such method (or no such tracer): tracing is not offered. */
function unsupported(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } })?.code
  const causeCode = (error as { cause?: { code?: unknown } })?.cause?.code
  if (code === -32601 || causeCode === -32601) return true
  return /method not found|not supported|does not exist|unknown tracer|not available/i.test(errorText(error))
}

export interface BuilderPaymentReader {
  /** Wei the transaction sent to its block's coinbase; 0 when the node does not trace. */
  paidWei(hash: Hex, blockNumber: bigint): Promise<bigint>
  /** False once the node refused to trace (undefined before the first ask). */
  readonly tracing: boolean | undefined
}

export function createBuilderPaymentReader(client: PublicClient, log: Logger): BuilderPaymentReader {
  let tracing: boolean | undefined
  /** Fee recipients of the last few blocks read (winners cluster in the newest ones). */
  const coinbases = new Map<bigint, Address>()
  const coinbaseOf = async (blockNumber: bigint): Promise<Address> => {
    const known = coinbases.get(blockNumber)
    if (known) return known
    const block = await retryTransient('winning block', () => client.getBlock({ blockNumber }))
    coinbases.set(blockNumber, block.miner)
    if (coinbases.size > 64) coinbases.delete(coinbases.keys().next().value as bigint)
    return block.miner
  }
  return {
    get tracing() {
      return tracing
    },
    async paidWei(hash, blockNumber) {
      if (tracing === false) return 0n
      let frame: CallFrame
      try {
        frame = await retryTransient('winning trace', () =>
          client.request({
            method: 'debug_traceTransaction',
            params: [hash, { tracer: 'callTracer' }],
          } as never),
        )
      } catch (error) {
        if (!unsupported(error)) throw error
        tracing = false
        log.info(
          { err: errorText(error) },
          'the node does not trace transactions: builder payments are not learned, priority fees are',
        )
        return 0n
      }
      tracing = true
      return coinbasePaidWei(frame, await coinbaseOf(blockNumber))
    },
  }
}
