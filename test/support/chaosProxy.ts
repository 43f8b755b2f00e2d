/**
 * A fault-injecting proxy in front of a node, for tests: loopback HTTP and WebSocket, every fault
 * by rate and seeded, every injection counted by kind.
 *
 * HTTP: added latency, dropped connections, stalls, 429 with Retry-After, JSON-RPC rate-limit errors (-32005), 500 and
 * 502 pages, truncated and garbled bodies, and a node that lags N blocks behind (eth_blockNumber and
 * "latest" answered from the past). WebSocket: latency, cuts, and subscriptions that go silent
 * without closing (notifications dropped for a while, the socket left open).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { toHex } from 'viem'
import WebSocket, { WebSocketServer } from 'ws'
import { createRandom } from '../../src/devnet/random.js'

export interface ChaosFaults {
  latencyMs?: [number, number]
  /** The connection is dropped without an answer. */
  drop?: number
  stall?: { rate: number; ms: number }
  http429?: { rate: number; retryAfterSeconds: number }
  rpcRateLimit?: number
  http500?: number
  http502?: number
  truncated?: number
  garbled?: number
  /** Answer "latest" from this many blocks behind (a lagging node). */
  lagBlocks?: number
  ws?: {
    latencyMs?: [number, number]
    cutEveryMs?: number
    /** Every `everyMs`, one socket's subscription notifications are dropped for `forMs`. */
    silence?: { everyMs: number; forMs: number }
  }
}

export interface ChaosProxy {
  httpUrl: string
  wsUrl: string
  stats: Record<string, number>
  /** Change the faults while running (e.g. off for a final check). */
  set(faults: ChaosFaults): void
  /** Drops every subscription notification on every open socket for `ms`, sockets left open. */
  silenceAll(ms: number): void
  /** Stop answering at all (a dead endpoint): connections are refused from now on. */
  kill(): Promise<void>
  close(): Promise<void>
}

export async function startChaosProxy(
  target: { httpUrl: string; wsUrl: string },
  initial: ChaosFaults,
  seed = 1,
): Promise<ChaosProxy> {
  const random = createRandom(seed)
  let faults = initial
  const stats: Record<string, number> = {}
  const count = (kind: string) => {
    stats[kind] = (stats[kind] ?? 0) + 1
  }
  const roll = (rate: number | undefined) => rate !== undefined && rate > 0 && random() < rate
  const between = (range: [number, number] | undefined) =>
    range ? range[0] + random() * (range[1] - range[0]) : 0
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  const upstream = async (body: string): Promise<string> => {
    const response = await fetch(target.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    return response.text()
  }

  /** A lagging node: "latest" means N blocks ago. */
  const lag = async (body: string): Promise<string> => {
    const n = faults.lagBlocks ?? 0
    if (n === 0) return upstream(body)
    const parsed = JSON.parse(body) as { id: unknown; method: string; params?: unknown[] } | unknown[]
    if (Array.isArray(parsed)) return upstream(body)
    const head = BigInt(
      (
        JSON.parse(await upstream(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'eth_blockNumber' }))) as {
          result: string
        }
      ).result,
    )
    const behind = toHex(head > BigInt(n) ? head - BigInt(n) : 0n)
    if (parsed.method === 'eth_blockNumber') {
      count('lagging')
      return JSON.stringify({ jsonrpc: '2.0', id: parsed.id, result: behind })
    }
    if (parsed.method === 'eth_getBlockByNumber' && parsed.params?.[0] === 'latest') {
      count('lagging')
      return upstream(JSON.stringify({ ...parsed, params: [behind, ...(parsed.params ?? []).slice(1)] }))
    }
    return upstream(body)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const latency = between(faults.latencyMs)
    if (latency > 0) await sleep(latency)
    if (roll(faults.drop)) {
      count('drop')
      req.socket.destroy()
      return
    }
    if (faults.stall && roll(faults.stall.rate)) {
      count('stall')
      await sleep(faults.stall.ms)
    }
    if (faults.http429 && roll(faults.http429.rate)) {
      count('http429')
      res.writeHead(429, {
        'retry-after': String(faults.http429.retryAfterSeconds),
        'content-type': 'text/plain',
      })
      res.end('Too Many Requests')
      return
    }
    if (roll(faults.http500)) {
      count('http500')
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('Internal Server Error')
      return
    }
    if (roll(faults.http502)) {
      count('http502')
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>')
      return
    }
    if (roll(faults.rpcRateLimit)) {
      count('rpcRateLimit')
      const id = (() => {
        try {
          return (JSON.parse(body) as { id?: unknown }).id ?? null
        } catch {
          return null
        }
      })()
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32005, message: 'rate limit exceeded' } }))
      return
    }
    let text: string
    try {
      text = await lag(body)
    } catch {
      count('upstreamDown')
      res.writeHead(502)
      res.end()
      return
    }
    if (roll(faults.truncated)) {
      count('truncated')
      text = text.slice(0, Math.max(1, Math.floor(text.length * random())))
    } else if (roll(faults.garbled)) {
      count('garbled')
      const at = Math.floor(random() * text.length)
      text = `${text.slice(0, at)}\u0000}{"x${text.slice(at + 1)}`
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(text)
    void req
  }

  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      handle(req, res, body).catch(() => {
        res.destroy()
      })
    })
  })

  // WebSocket: one upstream socket per client; frames relayed with latency; cuts; silences.
  const sockets = new Set<{ client: WebSocket; upstream: WebSocket; silentUntil: number }>()
  const wss = new WebSocketServer({ server })
  wss.on('connection', (client) => {
    const upstreamSocket = new WebSocket(target.wsUrl)
    const pair = { client, upstream: upstreamSocket, silentUntil: 0 }
    sockets.add(pair)
    const queue: string[] = []
    upstreamSocket.on('open', () => {
      for (const m of queue.splice(0)) upstreamSocket.send(m)
    })
    client.on('message', (data) => {
      const text = data.toString()
      if (upstreamSocket.readyState === WebSocket.OPEN) upstreamSocket.send(text)
      else queue.push(text)
    })
    upstreamSocket.on('message', (data) => {
      const text = data.toString()
      if (Date.now() < pair.silentUntil && text.includes('"eth_subscription"')) {
        count('wsSilencedNotification')
        return
      }
      const delay = between(faults.ws?.latencyMs)
      const deliver = () => {
        if (client.readyState === WebSocket.OPEN) client.send(text)
      }
      if (delay > 0) setTimeout(deliver, delay)
      else deliver()
    })
    const drop = () => {
      sockets.delete(pair)
      client.terminate()
      upstreamSocket.terminate()
    }
    client.on('close', drop)
    upstreamSocket.on('close', drop)
    client.on('error', drop)
    upstreamSocket.on('error', drop)
  })
  const timers: NodeJS.Timeout[] = []
  const every = (ms: number | undefined, fn: () => void) => {
    if (ms && ms > 0) timers.push(setInterval(fn, ms))
  }
  const arm = () => {
    for (const t of timers.splice(0)) clearInterval(t)
    every(faults.ws?.cutEveryMs, () => {
      for (const pair of [...sockets]) {
        count('wsCut')
        pair.client.terminate()
      }
    })
    const silence = faults.ws?.silence
    every(silence?.everyMs, () => {
      const pair = [...sockets][Math.floor(random() * sockets.size)]
      if (!pair || !silence) return
      count('wsSilence')
      pair.silentUntil = Date.now() + silence.forMs
    })
  }
  arm()

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const close = async () => {
    for (const t of timers.splice(0)) clearInterval(t)
    for (const pair of sockets) {
      pair.client.terminate()
      pair.upstream.terminate()
    }
    wss.close()
    server.closeAllConnections?.()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    stats,
    set(next) {
      faults = next
      arm()
    },
    silenceAll(ms) {
      count('wsSilence')
      for (const pair of sockets) pair.silentUntil = Date.now() + ms
    },
    kill: close,
    close,
  }
}
