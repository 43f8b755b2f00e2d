/**
 * The off-chain price stream of a pull oracle, read with the real @pythnetwork/hermes-client: the
 * latest updates first, then the server-sent-event stream, merged per feed, so every delivery is
 * a complete set (every feed's newest price and the blob that lands it). A stream that errors or
 * answers garbage is reported (metric + log) and reopened with backoff; the strategy meanwhile
 * plans at on-chain prices. Protocol-agnostic: feed ids in, StreamedPrices out.
 */
import { HermesClient } from '@pythnetwork/hermes-client'
import type { Hex } from 'viem'
import { displayUrl, errorText } from '../errors.js'
import type { Logger } from '../logger.js'
import type { StreamedFeed, StreamedPrices } from '../types.js'

export interface HermesStream {
  /** Resolves once the first complete set arrived (or rejects if the service cannot be read). */
  ready: Promise<void>
  latest(): StreamedPrices | undefined
  close(): void
}

interface HermesUpdate {
  binary: { data: string[] }
  parsed?: { id: string; price: { price: string; expo: number; publish_time: number } }[] | null
}

const hex0x = (s: string) => (s.startsWith('0x') ? s : `0x${s}`).toLowerCase() as Hex

export function createHermesStream(params: {
  endpoint: string
  feedIds: string[]
  log: Logger
  onPrices(prices: StreamedPrices): void
  onError?(error: unknown): void
  now?: () => number
  retryMs?: number
}): HermesStream {
  const { log } = params
  const now = params.now ?? (() => performance.timeOrigin + performance.now())
  const client = new HermesClient(params.endpoint, { timeout: 5_000 })
  const merged = new Map<string, { feed: StreamedFeed; blob: Hex }>()
  let latest: StreamedPrices | undefined
  let closed = false
  let source: { close(): void } | undefined
  let retry: NodeJS.Timeout | undefined
  let failures = 0

  const absorb = (update: HermesUpdate) => {
    const parsed = update.parsed ?? []
    if (parsed.length === 0 || parsed.length !== update.binary.data.length)
      throw new Error('price update without one parsed price per blob')
    parsed.forEach((p, i) => {
      const feed: StreamedFeed = {
        id: hex0x(p.id),
        price: BigInt(p.price.price),
        expo: p.price.expo,
        publishTime: BigInt(p.price.publish_time),
      }
      const current = merged.get(feed.id)
      if (!current || current.feed.publishTime < feed.publishTime)
        merged.set(feed.id, { feed, blob: hex0x(update.binary.data[i] as string) })
    })
    if (!params.feedIds.every((id) => merged.has(id.toLowerCase()))) return
    const entries = params.feedIds.map(
      (id) => merged.get(id.toLowerCase()) as { feed: StreamedFeed; blob: Hex },
    )
    latest = { feeds: entries.map((e) => e.feed), updateData: entries.map((e) => e.blob), receivedAt: now() }
    params.onPrices(latest)
  }

  const fail = (error: unknown) => {
    failures++
    params.onError?.(error)
    // The client's errors can quote the request URL, where providers put API tokens.
    const err = errorText(error).replace(/\bhttps?:\/\/\S+/g, (url) => displayUrl(url))
    log.warn(
      { err, endpoint: displayUrl(params.endpoint), failures },
      'price stream failed; planning at on-chain prices until it is back',
    )
    source?.close()
    source = undefined
    if (!closed) retry = setTimeout(() => void open(), Math.min(10_000, (params.retryMs ?? 500) * failures))
  }

  async function open(): Promise<void> {
    if (closed) return
    try {
      absorb(
        (await client.getLatestPriceUpdates(params.feedIds, {
          encoding: 'hex',
          parsed: true,
        })) as HermesUpdate,
      )
      const events = await client.getPriceUpdatesStream(params.feedIds, { encoding: 'hex', parsed: true })
      if (closed) {
        events.close()
        return
      }
      source = events
      events.onmessage = (message: { data: string }) => {
        try {
          absorb(JSON.parse(message.data) as HermesUpdate)
          failures = 0
        } catch (error) {
          fail(error)
        }
      }
      events.onerror = (error: unknown) => fail(error)
    } catch (error) {
      fail(error)
      throw error
    }
  }

  return {
    ready: open(),
    latest: () => latest,
    close() {
      closed = true
      if (retry) clearTimeout(retry)
      source?.close()
    },
  }
}
