/**
 * The off-chain price stream of a pull oracle, read with the real @pythnetwork/hermes-client: the
 * latest updates first, then the server-sent-event stream, merged per feed, so every delivery is
 * a complete set (every feed's newest price and the blob that lands it). A stream that errors or
 * answers garbage is reported (metric + log) and reopened with backoff; the strategy meanwhile
 * plans at on-chain prices. Protocol-agnostic: feed ids in, StreamedPrices out.
 */
import { HermesClient } from '@pythnetwork/hermes-client'
import type { Hex } from 'viem'
import { z } from 'zod'
import { displayUrl, errorText, RetryableError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { StreamedFeed, StreamedPrices } from '../types.js'

export interface HermesStream {
  /** Resolves once the first complete set arrived (or rejects if the service cannot be read). */
  ready: Promise<void>
  latest(): StreamedPrices | undefined
  close(): void
}

const hexString = z.string().regex(/^(0x)?[0-9a-fA-F]*$/)
/** Hermes' /v2/updates/price/* payload: the update blobs and, parsed, one price per blob. */
const hermesUpdateSchema = z.object({
  binary: z.object({ data: z.array(hexString).min(1) }),
  parsed: z
    .array(
      z.object({
        id: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/),
        price: z.object({
          price: z.string().regex(/^-?\d{1,40}$/),
          expo: z.number().int().min(-255).max(255),
          publish_time: z.number().int().nonnegative(),
        }),
      }),
    )
    .min(1),
})

const hex0x = (s: string) => (s.startsWith('0x') ? s : `0x${s}`).toLowerCase() as Hex

/**
 * Pure: a Hermes update payload (its JSON text) as feeds with their update blobs. Anything else —
 * not JSON, missing fields, a blob without its parsed price — is a PriceStreamError, never a crash.
 */
export function decodeHermesUpdate(text: string): { feed: StreamedFeed; blob: Hex }[] {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new PriceStreamError('price update is not JSON')
  }
  const result = hermesUpdateSchema.safeParse(json)
  if (!result.success) throw new PriceStreamError('price update does not have the Hermes shape')
  const { binary, parsed } = result.data
  if (parsed.length !== binary.data.length)
    throw new PriceStreamError('price update without one parsed price per blob')
  return parsed.map((p, i) => ({
    feed: {
      id: hex0x(p.id),
      price: BigInt(p.price.price),
      expo: p.price.expo,
      publishTime: BigInt(p.price.publish_time),
    },
    blob: hex0x(binary.data[i] as string),
  }))
}

/** A payload from the price service that is not a price update. */
export class PriceStreamError extends RetryableError {}

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

  const absorb = (text: string) => {
    for (const { feed, blob } of decodeHermesUpdate(text)) {
      const current = merged.get(feed.id)
      if (!current || current.feed.publishTime < feed.publishTime) merged.set(feed.id, { feed, blob })
    }
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
      // The client hands back parsed JSON; it goes through the same decoder as the stream's text.
      absorb(
        JSON.stringify(await client.getLatestPriceUpdates(params.feedIds, { encoding: 'hex', parsed: true })),
      )
      const events = await client.getPriceUpdatesStream(params.feedIds, { encoding: 'hex', parsed: true })
      if (closed) {
        events.close()
        return
      }
      source = events
      events.onmessage = (message: { data: string }) => {
        try {
          absorb(message.data)
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
