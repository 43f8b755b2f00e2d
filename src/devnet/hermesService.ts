/**
 * A price service for the devnet that speaks the Hermes HTTP API subset @pythnetwork/hermes-client
 * uses: `GET /v2/updates/price/latest` (JSON) and `GET /v2/updates/price/stream` (server-sent
 * events), `GET /v2/price_feeds`, with MockPyth-encoded update blobs. Prices move when told
 * (`POST /devnet/price`, or `setPrice` in process): that is the off-chain move a pull-oracle
 * market sees first. It belongs to the devnet, never to the daemon.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Hex } from 'viem'
import { encodePriceUpdate } from '../prices/pythUpdates.js'

export interface ServiceFeed {
  id: Hex
  symbol: string
  price: bigint
  expo: number
  publishTime: bigint
}

export interface HermesService {
  url: string
  /** Moves a feed's price off-chain (publish time: now, strictly after the last). */
  setPrice(symbol: string, price: bigint, publishTime?: bigint): ServiceFeed
  feed(symbol: string): ServiceFeed | undefined
  feeds(): ServiceFeed[]
  /** The update blob of a feed's latest price (what a pusher or a liquidator lands on chain). */
  updateData(id: string): Hex
  close(): Promise<void>
}

const strip = (hex: string) => hex.replace(/^0x/, '').toLowerCase()

export async function startHermesService(params: {
  feeds: ServiceFeed[]
  /** Seconds, for publish times (the chain's clock may run ahead of the wall clock on a devnet). */
  now: () => bigint
  host?: string
}): Promise<HermesService> {
  const byId = new Map(params.feeds.map((f) => [strip(f.id), { ...f }]))
  const streams = new Set<{ res: ServerResponse; ids: Set<string> }>()

  const parsed = (f: ServiceFeed) => {
    const price = { price: f.price.toString(), conf: '0', expo: f.expo, publish_time: Number(f.publishTime) }
    return {
      id: strip(f.id),
      price,
      ema_price: price,
      metadata: { prev_publish_time: null, proof_available_time: null, slot: null },
    }
  }
  const updateData = (id: string): Hex => {
    const f = byId.get(strip(id))
    if (!f) throw new Error(`unknown feed ${id}`)
    return encodePriceUpdate({
      id: `0x${strip(f.id)}`,
      price: f.price,
      expo: f.expo,
      publishTime: f.publishTime,
    })
  }
  const body = (ids: string[], withParsed: boolean) => ({
    binary: { encoding: 'hex', data: ids.map((id) => strip(updateData(id))) },
    ...(withParsed ? { parsed: ids.map((id) => parsed(byId.get(id) as ServiceFeed)) } : {}),
  })

  const requestedIds = (url: URL): string[] | string => {
    const ids = url.searchParams.getAll('ids[]').map(strip)
    if (ids.length === 0) return 'no ids[] given'
    const unknown = ids.find((id) => !byId.has(id))
    return unknown ? `Price ids not found: ${unknown}` : ids
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(value))
    }
    if (req.method === 'GET' && url.pathname === '/v2/price_feeds') {
      json(
        200,
        [...byId.values()].map((f) => ({
          id: strip(f.id),
          attributes: { symbol: f.symbol, asset_type: 'crypto' },
        })),
      )
      return
    }
    if (
      req.method === 'GET' &&
      (url.pathname === '/v2/updates/price/latest' || url.pathname === '/v2/updates/price/stream')
    ) {
      const ids = requestedIds(url)
      if (typeof ids === 'string') {
        res.writeHead(404, { 'content-type': 'text/plain' })
        res.end(ids)
        return
      }
      const withParsed = url.searchParams.get('parsed') !== 'false'
      if (url.pathname.endsWith('/latest')) {
        json(200, body(ids, withParsed))
        return
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      })
      res.write(`data: ${JSON.stringify(body(ids, withParsed))}\n\n`)
      const stream = { res, ids: new Set(ids) }
      streams.add(stream)
      req.on('close', () => streams.delete(stream))
      return
    }
    if (req.method === 'POST' && url.pathname === '/devnet/price') {
      let text = ''
      req.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8')
      })
      req.on('end', () => {
        try {
          const { symbol, price, publishTime } = JSON.parse(text) as {
            symbol: string
            price: string
            publishTime?: string
          }
          const f = service.setPrice(
            symbol,
            BigInt(price),
            publishTime === undefined ? undefined : BigInt(publishTime),
          )
          json(200, parsed(f))
        } catch (error) {
          json(400, { error: error instanceof Error ? error.message : 'bad request' })
        }
      })
      return
    }
    res.writeHead(404)
    res.end('not found')
  }

  const server: Server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, params.host ?? '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const service: HermesService = {
    url: `http://127.0.0.1:${port}`,
    setPrice(symbol, price, publishTime) {
      const f = [...byId.values()].find((x) => x.symbol === symbol)
      if (!f)
        throw new Error(
          `unknown feed symbol "${symbol}" (the service has ${[...byId.values()].map((x) => x.symbol).join(', ')})`,
        )
      const t = publishTime ?? params.now()
      f.publishTime = t > f.publishTime ? t : f.publishTime + 1n
      f.price = price
      // Each stream gets every feed it asked for, so a client can always carry a complete update.
      for (const s of streams)
        if (s.ids.has(strip(f.id))) s.res.write(`data: ${JSON.stringify(body([...s.ids], true))}\n\n`)
      return { ...f }
    },
    feed: (symbol) => {
      const f = [...byId.values()].find((x) => x.symbol === symbol)
      return f ? { ...f } : undefined
    },
    feeds: () => [...byId.values()].map((f) => ({ ...f })),
    updateData,
    async close() {
      for (const s of streams) s.res.end()
      streams.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return service
}
