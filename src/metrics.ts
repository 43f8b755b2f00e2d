/**
 * Prometheus metrics (prom-client) and the /metrics + /healthz endpoints. Each daemon has its own
 * registry, so tests can run several in one process.
 */
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type * as PromClient from 'prom-client'

/**
 * prom-client's classes from their own modules. The package's index also loads its default
 * metrics (and with them @opentelemetry/api), the push gateway, summaries and cluster support, none
 * of which the daemon uses: ~60 ms of every start, measured (the four modules alone: ~6 ms).
 */
const load = createRequire(import.meta.url)
const Registry = load('prom-client/lib/registry') as typeof PromClient.Registry
const Counter = load('prom-client/lib/counter') as typeof PromClient.Counter
const Gauge = load('prom-client/lib/gauge') as typeof PromClient.Gauge
const Histogram = load('prom-client/lib/histogram') as typeof PromClient.Histogram

export function createMetrics() {
  const registry = new Registry()
  const stageBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
  return {
    registry,
    accountsTracked: new Gauge({
      name: 'undertow_accounts_tracked',
      help: 'Accounts in the mirror',
      registers: [registry],
    }),
    accountsUnderwater: new Gauge({
      name: 'undertow_accounts_underwater',
      help: 'Accounts with health factor below 1',
      registers: [registry],
    }),
    queueSize: new Gauge({
      name: 'undertow_queue_size',
      help: 'Opportunities waiting in the queue',
      registers: [registry],
    }),
    headBlock: new Gauge({
      name: 'undertow_head_block',
      help: 'Last processed block',
      registers: [registry],
    }),
    opportunities: new Counter({
      name: 'undertow_opportunities_total',
      help: 'Profitable opportunities found',
      labelNames: ['source'],
      registers: [registry],
    }),
    submissions: new Counter({
      name: 'undertow_submissions_total',
      help: 'Transactions submitted',
      labelNames: ['kind'],
      registers: [registry],
    }),
    inclusions: new Counter({
      name: 'undertow_inclusions_total',
      help: 'Liquidations included',
      labelNames: ['status'],
      registers: [registry],
    }),
    bundleSends: new Counter({
      name: 'undertow_bundle_sends_total',
      help: 'Bundle requests to builders, by builder, method and result',
      labelNames: ['builder', 'method', 'result'],
      registers: [registry],
    }),
    bundleInclusions: new Counter({
      name: 'undertow_bundle_inclusions_total',
      help: 'Our bundles included, by the builder whose block carried them (by fee recipient)',
      labelNames: ['builder'],
      registers: [registry],
    }),
    bundlesDropped: new Counter({
      name: 'undertow_bundles_dropped_total',
      help: 'Private submissions given up (no longer profitable, or withdrawn), by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    lost: new Counter({
      name: 'undertow_lost_total',
      help: 'Opportunities taken by another liquidator first',
      registers: [registry],
    }),
    refused: new Counter({
      name: 'undertow_refused_total',
      help: 'Opportunities refused before sending',
      labelNames: ['reason'],
      registers: [registry],
    }),
    rpcRequests: new Counter({
      name: 'undertow_rpc_requests_total',
      help: 'RPC requests sent',
      labelNames: ['transport'],
      registers: [registry],
    }),
    rpcErrors: new Counter({
      name: 'undertow_rpc_errors_total',
      help: 'RPC errors',
      labelNames: ['stage'],
      registers: [registry],
    }),
    reconnects: new Counter({
      name: 'undertow_ws_reconnects_total',
      help: 'WebSocket reconnections',
      registers: [registry],
    }),
    reorgs: new Counter({ name: 'undertow_reorgs_total', help: 'Reorgs followed', registers: [registry] }),
    priceStreamUpdates: new Counter({
      name: 'undertow_price_stream_updates_total',
      help: 'Complete price sets received from the off-chain price stream',
      registers: [registry],
    }),
    priceStreamErrors: new Counter({
      name: 'undertow_price_stream_errors_total',
      help: 'Off-chain price stream failures (down, garbage); planning falls back to on-chain prices',
      registers: [registry],
    }),
    endpointHead: new Gauge({
      name: 'undertow_rpc_endpoint_head',
      help: 'Latest head each RPC endpoint has shown',
      labelNames: ['endpoint'],
      registers: [registry],
    }),
    endpointErrors: new Counter({
      name: 'undertow_rpc_endpoint_errors_total',
      help: 'Transient failures per RPC endpoint (the request failed over to the next)',
      labelNames: ['endpoint'],
      registers: [registry],
    }),
    endpointDemoted: new Gauge({
      name: 'undertow_rpc_endpoint_demoted',
      help: '1 while an RPC endpoint lags the best head by more than rpcMaxLagBlocks',
      labelNames: ['endpoint'],
      registers: [registry],
    }),
    headsCoalesced: new Counter({
      name: 'undertow_heads_coalesced_total',
      help: 'Heads superseded by a newer one before they were handled (synced, not planned one by one)',
      registers: [registry],
    }),
    headLagBlocks: new Gauge({
      name: 'undertow_head_lag_blocks',
      help: 'Blocks between the newest head seen and the last one handled',
      registers: [registry],
    }),
    mirrorChecked: new Counter({
      name: 'undertow_mirror_checked_total',
      help: 'Accounts compared with the protocol view by the always-on differential check',
      registers: [registry],
    }),
    mirrorMismatches: new Counter({
      name: 'undertow_mirror_mismatches_total',
      help: 'Accounts whose mirrored health differed from the protocol view (each is resynced)',
      registers: [registry],
    }),
    eventErrors: new Counter({
      name: 'undertow_event_errors_total',
      help: 'Events whose handling failed',
      labelNames: ['type'],
      registers: [registry],
    }),
    tickToTradeSeconds: new Histogram({
      name: 'undertow_tick_to_trade_seconds',
      help: 'Pending oracle transaction received to signed liquidation sent',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    stageSeconds: new Histogram({
      name: 'undertow_stage_seconds',
      help: 'Per-stage latency',
      labelNames: ['stage'],
      buckets: stageBuckets,
      registers: [registry],
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** Serves /metrics and /healthz (200 while healthy, 503 otherwise) on loopback or all interfaces. */
export async function serveMetrics(
  metrics: Metrics,
  port: number,
  host: string,
  isHealthy: () => { ok: boolean; detail: string },
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType })
          res.end(body)
        },
        () => {
          res.writeHead(500)
          res.end()
        },
      )
      return
    }
    if (req.url === '/healthz') {
      const health = isHealthy()
      res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' })
      res.end(JSON.stringify(health))
      return
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return server
}
