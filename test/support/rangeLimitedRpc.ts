/**
 * A loopback JSON-RPC front for a node that refuses eth_getLogs over more than `maxRange` blocks, as
 * hosted providers do ("query exceeds max block range"). Everything else is passed through.
 */
import { createServer, type Server } from 'node:http'

export interface RangeLimitedRpc {
  url: string
  /** eth_getLogs requests answered and refused. */
  stats: { getLogs: number; refused: number }
  close(): Promise<void>
}

interface Request {
  id: unknown
  method: string
  params?: unknown[]
}

export async function startRangeLimitedRpc(target: string, maxRange: number): Promise<RangeLimitedRpc> {
  const stats = { getLogs: 0, refused: 0 }
  const answer = async (request: Request): Promise<unknown> => {
    if (request.method === 'eth_getLogs') {
      const filter = (request.params?.[0] ?? {}) as { fromBlock?: string; toBlock?: string }
      const from = filter.fromBlock?.startsWith('0x') ? BigInt(filter.fromBlock) : undefined
      const to = filter.toBlock?.startsWith('0x') ? BigInt(filter.toBlock) : undefined
      if (from === undefined || to === undefined || to - from + 1n > BigInt(maxRange)) {
        stats.refused++
        return {
          jsonrpc: '2.0',
          id: request.id,
          error: { code: -32600, message: `query exceeds max block range ${maxRange}` },
        }
      }
      stats.getLogs++
    }
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    })
    return response.json()
  }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      const parsed = JSON.parse(body) as Request | Request[]
      const work = Array.isArray(parsed) ? Promise.all(parsed.map(answer)) : answer(parsed)
      work.then(
        (result) => {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify(result))
        },
        () => {
          res.writeHead(502)
          res.end()
        },
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
