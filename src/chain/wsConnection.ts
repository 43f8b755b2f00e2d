/**
 * A JSON-RPC WebSocket that stays up: reconnects with exponential backoff and jitter, re-creates its
 * subscriptions on every new socket, and tells its owner (onReconnect) so that the owner backfills
 * what it missed. Requests in flight on a dropped socket fail with a retryable error.
 */
import WebSocket from 'ws'
import { displayUrl, RetryableError } from '../errors.js'

export interface WsConnection {
  request<T = unknown>(method: string, params: unknown[], timeoutMs?: number): Promise<T>
  /** Subscribes now and after every reconnect; `ready` settles once the node has confirmed it. */
  subscribe(
    params: unknown[],
    onData: (result: unknown) => void,
  ): { ready: Promise<void>; unsubscribe(): void }
  readonly connected: boolean
  /** Tears the socket down (a subscription went silent without closing): reconnect, resubscribe. */
  reconnect(reason: string): void
  close(): Promise<void>
}

export interface WsOptions {
  onRequest?(method: string): void
  onReconnect?(): void
  onDisconnect?(reason: string): void
  minBackoffMs?: number
  maxBackoffMs?: number
  random?: () => number
  signal?: AbortSignal
}

interface Pending {
  resolve(value: unknown): void
  reject(error: unknown): void
  timer: NodeJS.Timeout
}

export function createWsConnection(url: string, options: WsOptions = {}): Promise<WsConnection> {
  const minBackoff = options.minBackoffMs ?? 100
  const maxBackoff = options.maxBackoffMs ?? 5_000
  const random = options.random ?? Math.random
  let socket: WebSocket | undefined
  let nextId = 1
  let closed = false
  let attempt = 0
  const pending = new Map<number, Pending>()
  const subscriptions = new Map<
    number,
    { params: unknown[]; onData(result: unknown): void; serverId?: string }
  >()
  const byServerId = new Map<string, number>()
  let nextSubscription = 1
  let firstOpen: { resolve(): void; reject(error: unknown): void } | undefined

  const send = (method: string, params: unknown[], timeoutMs = 15_000): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        reject(new RetryableError(`WebSocket ${displayUrl(url)} is not connected`))
        return
      }
      const id = nextId++
      options.onRequest?.(method)
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new RetryableError(`${method} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      pending.set(id, { resolve, reject, timer })
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
    })

  const resubscribe = async (key: number) => {
    const sub = subscriptions.get(key)
    if (!sub) return
    const serverId = (await send('eth_subscribe', sub.params)) as string
    sub.serverId = serverId
    byServerId.set(serverId, key)
  }

  const connect = () => {
    const ws = new WebSocket(url)
    socket = ws
    ws.on('open', () => {
      attempt = 0
      byServerId.clear()
      Promise.all([...subscriptions.keys()].map(resubscribe)).then(
        () => {
          // The first open resolves createWsConnection; every later one is a reconnect.
          if (firstOpen) {
            firstOpen.resolve()
            firstOpen = undefined
          } else {
            options.onReconnect?.()
          }
        },
        () => ws.terminate(),
      )
    })
    ws.on('message', (data) => {
      let message: {
        id?: number
        result?: unknown
        error?: { message: string; code: number }
        method?: string
        params?: { subscription: string; result: unknown }
      }
      try {
        message = JSON.parse(data.toString())
      } catch {
        return // a non-JSON frame is not ours to interpret
      }
      if (message.method === 'eth_subscription' && message.params) {
        const key = byServerId.get(message.params.subscription)
        if (key !== undefined) subscriptions.get(key)?.onData(message.params.result)
        return
      }
      if (typeof message.id === 'number') {
        const entry = pending.get(message.id)
        if (!entry) return
        pending.delete(message.id)
        clearTimeout(entry.timer)
        if (message.error)
          entry.reject(new RetryableError(`RPC error ${message.error.code}: ${message.error.message}`))
        else entry.resolve(message.result)
      }
    })
    ws.on('error', () => {
      // 'close' follows every 'error'; reconnection is handled there.
    })
    ws.on('close', () => {
      for (const [id, entry] of pending) {
        clearTimeout(entry.timer)
        entry.reject(new RetryableError('WebSocket closed during a request'))
        pending.delete(id)
      }
      if (closed) return
      if (firstOpen && attempt >= 3) {
        firstOpen.reject(new RetryableError(`cannot connect to WebSocket ${displayUrl(url)}`))
        firstOpen = undefined
        closed = true
        return
      }
      options.onDisconnect?.('closed')
      attempt++
      const delay = Math.min(maxBackoff, minBackoff * 2 ** Math.min(attempt - 1, 10)) * (0.5 + random() / 2)
      setTimeout(() => {
        if (!closed) connect()
      }, delay)
    })
  }

  return new Promise((resolve, reject) => {
    firstOpen = { resolve: () => resolve(connection), reject }
    const connection: WsConnection = {
      request: <T>(method: string, params: unknown[], timeoutMs?: number) =>
        send(method, params, timeoutMs) as Promise<T>,
      subscribe(params, onData) {
        const key = nextSubscription++
        subscriptions.set(key, { params, onData })
        const ready =
          socket?.readyState === WebSocket.OPEN
            ? resubscribe(key).catch((error: unknown) => {
                socket?.terminate()
                throw error
              })
            : Promise.resolve()
        const unsubscribe = () => {
          const sub = subscriptions.get(key)
          subscriptions.delete(key)
          if (sub?.serverId) {
            byServerId.delete(sub.serverId)
            send('eth_unsubscribe', [sub.serverId]).catch(() => undefined)
          }
        }
        return { ready, unsubscribe }
      },
      get connected() {
        return socket?.readyState === WebSocket.OPEN
      },
      reconnect(reason) {
        if (closed || !socket) return
        options.onDisconnect?.(reason)
        // 'close' runs the usual backoff and resubscription; onReconnect then triggers a backfill.
        socket.terminate()
      },
      close: () =>
        new Promise<void>((done) => {
          closed = true
          if (!socket || socket.readyState === WebSocket.CLOSED) {
            done()
            return
          }
          socket.once('close', () => done())
          socket.close()
        }),
    }
    options.signal?.addEventListener('abort', () => {
      connection.close().catch(() => undefined)
    })
    connect()
  })
}
