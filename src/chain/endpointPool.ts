/**
 * Several RPC endpoints as one: reads and log queries go to the healthiest endpoint (not demoted,
 * fewest recent errors, lowest latency) and fail over to the next on a transient error; an endpoint
 * whose head lags the best one by more than `maxLagBlocks`, or that showed a block the daemon's
 * canonical chain does not have at that height, is demoted until it catches up. Heads are reported
 * per endpoint by whoever watches them (its subscription or its polls).
 */
import { createPublicClient, custom, http, type PublicClient } from 'viem'
import { displayUrl, shouldRetry } from '../errors.js'
import { devChain } from './rpc.js'

export interface EndpointHealth {
  /** A label for logs and metrics: index and host, never the path or a token. */
  readonly name: string
  head: bigint
  latencyMs: number
  /** Recent transient errors (decays on success). */
  errors: number
  demoted: string | undefined
  /** Set while the endpoint disagrees with the canonical chain. */
  inconsistent?: boolean
}

export interface EndpointPool {
  /** The failover client: what the daemon reads and fetches logs with. */
  readonly client: PublicClient
  /** One direct client per endpoint, in configuration order. */
  readonly clients: PublicClient[]
  readonly health: EndpointHealth[]
  /** An endpoint saw this head; demotion follows from the heads of all of them. */
  noteHead(index: number, head: bigint, hash?: string): void
  /**
   * The block the daemon took as canonical at this height: an endpoint that showed another hash
   * for it answers inconsistently and is demoted until it shows the canonical hash of a later block.
   */
  noteCanonical(number: bigint, hash: string): void
}

type Request = (args: { method: string; params?: unknown }) => Promise<unknown>

export function createEndpointPool(params: {
  urls: string[]
  chainId: number
  maxLagBlocks: number
  onRequest?: (endpoint: string) => void
  onError?: (endpoint: string) => void
  onDemotion?: (endpoint: string, reason: string | undefined) => void
  now?: () => number
}): EndpointPool {
  const now = params.now ?? (() => performance.now())
  const chain = devChain(params.chainId, params.urls[0] as string)
  const health: EndpointHealth[] = params.urls.map((url, i) => ({
    name: `${i}:${displayUrl(url)}`,
    head: 0n,
    latencyMs: 0,
    errors: 0,
    demoted: undefined,
  }))
  const clients = params.urls.map((url) =>
    createPublicClient({ chain, transport: http(url, { retryCount: 6, retryDelay: 100 }), cacheTime: 0 }),
  )
  // The failover path retries once per endpoint; the next endpoint is the retry.
  const requests: Request[] = params.urls.map(
    (url) => http(url, { retryCount: 1, retryDelay: 100 })({ chain }).request as unknown as Request,
  )
  const score = (h: EndpointHealth) => (h.demoted ? 1e9 : 0) + h.errors * 1e4 + h.latencyMs
  const order = () =>
    health
      .map((h, i) => ({ h, i }))
      .sort((a, b) => score(a.h) - score(b.h))
      .map(({ i }) => i)

  const request: Request = async (args) => {
    const indices = order()
    let lastError: unknown
    for (const [k, i] of indices.entries()) {
      const h = health[i] as EndpointHealth
      const started = now()
      params.onRequest?.(h.name)
      try {
        const result = await (requests[i] as Request)(args)
        h.latencyMs = h.latencyMs === 0 ? now() - started : h.latencyMs * 0.8 + (now() - started) * 0.2
        h.errors *= 0.9
        return result
      } catch (error) {
        lastError = error
        // The same answer everywhere (a revert, bad params): no failover.
        if (!shouldRetry(error) || k === indices.length - 1) throw error
        h.errors += 1
        params.onError?.(h.name)
      }
    }
    throw lastError
  }

  const client = createPublicClient({
    chain,
    transport: custom({ request }, { retryCount: 2, retryDelay: 200 }),
    cacheTime: 0,
  })

  /** Recent head hashes per endpoint, by number (a few blocks' worth, for the consistency check). */
  const recent = health.map(() => new Map<bigint, string>())
  const lagReason = (x: EndpointHealth, best: bigint) => {
    const lag = best - x.head
    if (x.inconsistent) return 'answers inconsistently (a block the chain does not have)'
    // Not judged before it has shown a head (at startup its watcher is still subscribing).
    if (x.head === 0n) return undefined
    return lag > BigInt(params.maxLagBlocks) ? `lags ${lag} blocks` : undefined
  }
  const reevaluate = () => {
    let best = 0n
    for (const x of health) if (x.head > best) best = x.head
    for (const x of health) {
      const demoted = lagReason(x, best)
      if (demoted !== x.demoted) {
        x.demoted = demoted
        params.onDemotion?.(x.name, demoted)
      }
    }
  }

  return {
    client,
    clients,
    health,
    noteCanonical(number, hash) {
      health.forEach((h, i) => {
        const seen = recent[i]?.get(number)
        if (seen === undefined) return
        const agrees = seen === hash
        if (!agrees) h.inconsistent = true
        else if (h.inconsistent) h.inconsistent = false
      })
      reevaluate()
    },
    noteHead(index, head, hash) {
      const h = health[index]
      if (hash) {
        const mine = recent[index]
        mine?.set(head, hash)
        if (mine && mine.size > 64) mine.delete(mine.keys().next().value as bigint)
      }
      if (!h || head <= h.head) return
      h.head = head
      reevaluate()
    },
  }
}
