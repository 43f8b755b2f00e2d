/**
 * A viem client for the latency-critical calls (simulation, submission): over the WebSocket while
 * it is connected (one hop less, no TLS handshake per request), over HTTP otherwise. A custom
 * transport, so viem's typed actions (simulateBlocks, sendRawTransaction) work on either.
 */
import { type Client, createClient, custom, type PublicClient } from 'viem'
import type { WsConnection } from './wsConnection.js'

export function createFastClient(http: PublicClient, ws: WsConnection | undefined): Client {
  // The HTTP client's own request function, seen untyped so any method can be forwarded as is.
  const httpRequest = http.request as unknown as (args: {
    method: string
    params?: unknown
  }) => Promise<unknown>
  return createClient({
    chain: http.chain,
    transport: custom({
      request: ({ method, params }: { method: string; params?: unknown }) =>
        ws?.connected
          ? ws.request(method, Array.isArray(params) ? params : params === undefined ? [] : [params])
          : httpRequest({ method, params }),
    }),
  })
}
