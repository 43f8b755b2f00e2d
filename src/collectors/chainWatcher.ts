/**
 * The chain collector: new heads and pending transactions as typed events. Over WebSocket it
 * subscribes to newHeads and to full pending transactions (hash + fetch where a node only sends
 * hashes); without one it polls heads over HTTP. It never decides anything: a reconnect is reported
 * so the engine backfills from its own last processed block, which is what makes gaps impossible.
 */

import type { Address, Hex, PublicClient } from 'viem'
import type { WsConnection } from '../chain/wsConnection.js'
import { errorText } from '../errors.js'
import type { Logger } from '../logger.js'
import type { BlockHeader, PendingTx } from '../types.js'

export interface ChainWatcherParams {
  client: PublicClient
  ws?: WsConnection | undefined
  log: Logger
  pollIntervalMs?: number
  /**
   * With a WebSocket: how often heads are also read over HTTP, and after how long without a head
   * on the socket (while HTTP shows the chain moving) the subscription counts as silent and the
   * socket is replaced; meanwhile the block before the newest is delivered from HTTP.
   */
  silence?: { checkMs: number; silentMs: () => number }
  onHead(header: BlockHeader): void
  onPendingTx(tx: PendingTx): void
  /** Cheap filter on `to` before a pending transaction is decoded or fetched. */
  wantsPending(to: string | null): boolean
  now?: () => number
}

interface RawHeader {
  number: Hex
  hash: Hex
  parentHash: Hex
  timestamp: Hex
  baseFeePerGas?: Hex | null
}

interface RawTx {
  hash: Hex
  from: Address
  to: Address | null
  input: Hex
  nonce: Hex
  maxFeePerGas?: Hex | null
  maxPriorityFeePerGas?: Hex | null
  gasPrice?: Hex | null
}

export function toHeader(raw: RawHeader): BlockHeader {
  return {
    number: BigInt(raw.number),
    hash: raw.hash,
    parentHash: raw.parentHash,
    timestamp: BigInt(raw.timestamp),
    baseFeePerGas: raw.baseFeePerGas ? BigInt(raw.baseFeePerGas) : null,
  }
}

export function toPendingTx(raw: RawTx, seenAt: number): PendingTx {
  const big = (v: Hex | null | undefined) => (v ? BigInt(v) : null)
  return {
    hash: raw.hash,
    from: raw.from,
    to: raw.to,
    input: raw.input,
    nonce: Number(raw.nonce),
    maxFeePerGas: big(raw.maxFeePerGas),
    maxPriorityFeePerGas: big(raw.maxPriorityFeePerGas),
    gasPrice: big(raw.gasPrice),
    seenAt,
  }
}

/** The header fields the engine uses, from a viem block. */
export function headerOf(block: {
  number: bigint
  hash: Hex
  parentHash: Hex
  timestamp: bigint
  baseFeePerGas: bigint | null
}): BlockHeader {
  return {
    number: block.number,
    hash: block.hash,
    parentHash: block.parentHash,
    timestamp: block.timestamp,
    baseFeePerGas: block.baseFeePerGas,
  }
}

export interface ChainWatcher {
  /** Settles when every subscription is live, so nothing sent after it can be missed. */
  ready: Promise<void>
  stop(): void
  /** The latest head, over HTTP. */
  latestHead(): Promise<BlockHeader>
  /**
   * The block before the newest, over HTTP (at start and after reconnects): nodes can serve their
   * newest block before its logs are queryable (geth, erigon; seen on anvil under load, where a
   * block synced that way missed its logs). The subscription brings the newest right after.
   */
  settledHead(): Promise<BlockHeader>
}

/** The block before the newest (block 0 on a new chain). */
export async function settledHead(client: PublicClient): Promise<BlockHeader> {
  const newest = await client.getBlockNumber({ cacheTime: 0 })
  return headerOf(await client.getBlock({ blockNumber: newest > 0n ? newest - 1n : 0n }))
}

export function createChainWatcher(params: ChainWatcherParams): ChainWatcher {
  const { client, ws, log } = params
  const now = params.now ?? (() => performance.timeOrigin + performance.now())
  const unsubscribers: (() => void)[] = []
  const ready: Promise<void>[] = []
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const latestHead = async () => headerOf(await client.getBlock({ blockTag: 'latest' }))

  if (ws) {
    let lastSocketHead = { number: -1n, at: now() }
    const heads = ws.subscribe(['newHeads'], (result) => {
      const header = toHeader(result as RawHeader)
      lastSocketHead = { number: header.number, at: now() }
      params.onHead(header)
    })
    const silence = params.silence
    if (silence) {
      // A subscription can go silent without its socket closing: only a second source can tell.
      const check = async () => {
        try {
          const head = await latestHead()
          if (head.number > lastSocketHead.number && now() - lastSocketHead.at > silence.silentMs()) {
            log.warn(
              { socketHead: lastSocketHead.number.toString(), httpHead: head.number.toString() },
              'newHeads subscription silent while the chain moves; resubscribing',
            )
            lastSocketHead = { number: lastSocketHead.number, at: now() }
            ws.reconnect('silent subscription')
            // Keep the engine going meanwhile, with the block before the newest: a node can show its
            // newest block over HTTP before that block's logs are queryable (seen on anvil under
            // load: a block handled that way missed its logs, and the socket's copy was deduplicated).
            if (head.number > 0n)
              params.onHead(headerOf(await client.getBlock({ blockNumber: head.number - 1n })))
          }
        } catch (error) {
          log.debug({ err: errorText(error) }, 'head check over HTTP failed')
        }
        if (!stopped) timer = setTimeout(check, silence.checkMs)
      }
      timer = setTimeout(check, silence.checkMs)
    }
    const pending = ws.subscribe(['newPendingTransactions', true], (result) => {
      const seenAt = now()
      if (typeof result === 'string') {
        // This node only sends hashes: fetch the transaction, then filter.
        ws.request<RawTx | null>('eth_getTransactionByHash', [result]).then(
          (tx) => {
            if (tx && params.wantsPending(tx.to)) params.onPendingTx(toPendingTx(tx, seenAt))
          },
          (error: unknown) => log.debug({ err: errorText(error) }, 'pending transaction fetch failed'),
        )
        return
      }
      const tx = result as RawTx
      if (params.wantsPending(tx.to)) params.onPendingTx(toPendingTx(tx, seenAt))
    })
    unsubscribers.push(heads.unsubscribe, pending.unsubscribe)
    ready.push(heads.ready, pending.ready)
  } else {
    const poll = async () => {
      try {
        // Without a subscription every head comes over HTTP: the settled one (see settledHead).
        params.onHead(await settledHead(client))
      } catch (error) {
        log.warn({ err: errorText(error) }, 'head poll failed')
      }
      timer = setTimeout(poll, params.pollIntervalMs ?? 1000)
    }
    timer = setTimeout(poll, 0)
  }

  return {
    latestHead,
    settledHead: () => settledHead(client),
    ready: Promise.all(ready).then(() => undefined),
    stop() {
      stopped = true
      for (const unsubscribe of unsubscribers) unsubscribe()
      if (timer) clearTimeout(timer)
    },
  }
}
