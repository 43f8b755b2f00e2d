/**
 * Assembles the daemon from a parsed config: key, clients, snapshot or backfill, strategy, executor,
 * collectors, engine, metrics. `undertow run`, the demo and the end-to-end tests all start it here.
 */
import type { Server } from 'node:http'
import { type Hex, type LocalAccount, type PublicClient, parseUnits } from 'viem'
import { connectHttp } from './chain/connect.js'
import { createEndpointPool } from './chain/endpointPool.js'
import { createFastClient } from './chain/fastClient.js'
import { createChainFollower } from './chain/followChain.js'
import { detectL1FeeOracle } from './chain/l1Fee.js'
import { createRecentSet } from './chain/recentSet.js'
import { createWsConnection, type WsConnection } from './chain/wsConnection.js'
import { type ChainWatcher, createChainWatcher, headerOf, settledHead } from './collectors/chainWatcher.js'
import type { Config } from './config.js'
import { createEngine, type Engine } from './engine.js'
import { CorruptStateError, displayUrl, errorText, FatalError, retryTransient, UsageError } from './errors.js'
import { type BidLearner, createBidLearner } from './executor/bidLearner.js'
import { createBuilderPaymentReader } from './executor/builderPayment.js'
import { type BackrunRoute, createBundleLane } from './executor/bundleLane.js'
import { createExecutor, type Executor } from './executor/executor.js'
import { createBroadcastLane, type SubmissionLane } from './executor/publicLane.js'
import { createRelayClient } from './executor/relayClient.js'
import { keyAccount, transactionSigner } from './executor/signer.js'
import { createWalletPool } from './executor/walletPool.js'
import type { Logger } from './logger.js'
import { createMetrics, type Metrics, serveMetrics } from './metrics.js'
import type { HermesStream } from './prices/hermesStream.js'
import { createSnapshotWriter, loadSnapshot } from './store/snapshotStore.js'
import type { BlockHeader, LiquidationEvent, Strategy } from './types.js'

export interface Daemon {
  engine: Engine
  executor: Executor
  strategy: Strategy
  metrics: Metrics
  watcher: ChainWatcher
  /** The off-chain price stream, when the strategy reads one. */
  prices: HermesStream | undefined
  /** 'snapshot' when resumed from disk, 'backfill' when built from logs. */
  startedFrom: 'snapshot' | 'backfill'
  /** What winners paid, learned from landed liquidations (undefined: learning off). */
  bids: BidLearner | undefined
  stop(timeoutMs?: number): Promise<void>
}

/** Reads and checks the signing key without ever echoing it. */
export function loadSigner(
  config: Config,
  env: Record<string, string | undefined>,
  /** What the key is for, in the message when it is missing. */
  purpose = "it must hold the liquidator's private key; --dry-run runs without one",
): LocalAccount | undefined {
  const name = config.execution.privateKeyEnv
  const raw = env[name]
  // A dry run never signs; with a key present it still simulates from the key's address.
  if (config.execution.dryRun && !raw) return undefined
  if (!raw) throw new UsageError(`environment variable ${name} is not set (${purpose})`)
  return keyFrom(name, raw, 'private key')
}

/** A key from an environment variable, checked; messages name the variable, never the value. */
function keyFrom(name: string, raw: string, what: string): LocalAccount {
  const key = raw.trim()
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key))
    throw new UsageError(`the ${what} in ${name} is malformed (expected 32 bytes of hex)`)
  try {
    return keyAccount((key.startsWith('0x') ? key : `0x${key}`) as Hex)
  } catch {
    throw new UsageError(`the ${what} in ${name} is not a valid secp256k1 key`)
  }
}

/**
 * The extra hot wallets (execution.hotWalletKeyEnvs), each a different wallet from the liquidator
 * and from one another; none in a dry run (nothing is signed).
 */
export function loadHotWallets(
  config: Config,
  env: Record<string, string | undefined>,
  signer: LocalAccount | undefined,
): LocalAccount[] {
  if (!signer) return []
  const seen = new Map<string, string>([[signer.address, config.execution.privateKeyEnv]])
  return config.execution.hotWalletKeyEnvs.map((name) => {
    const raw = env[name]
    if (!raw)
      throw new UsageError(
        `environment variable ${name} is not set (it must hold a hot wallet's private key: execution.hotWalletKeyEnvs)`,
      )
    const wallet = keyFrom(name, raw, 'hot wallet key')
    const same = seen.get(wallet.address)
    if (same) throw new UsageError(`the hot wallet key in ${name} is the same wallet as the key in ${same}`)
    seen.set(wallet.address, name)
    return wallet
  })
}

/**
 * Reads the bundle auth key (it signs the X-Flashbots-Signature header and is the searcher's
 * identity at builders) when a private lane is configured; it must not be the liquidator's key.
 */
export function loadBundleAuth(
  config: Config,
  env: Record<string, string | undefined>,
  signer: LocalAccount | undefined,
  hotWallets: readonly LocalAccount[] = [],
): LocalAccount | undefined {
  const ex = config.execution
  if (ex.lane === 'public' && ex.backrunLane === 'public') return undefined
  const name = ex.bundleAuthKeyEnv
  const raw = env[name]
  if (!raw) {
    if (ex.dryRun) return undefined
    throw new UsageError(
      `environment variable ${name} is not set (it must hold the bundle auth key that signs builder requests)`,
    )
  }
  const account = keyFrom(name, raw, 'bundle auth key')
  if (signer && account.address === signer.address)
    throw new UsageError(
      `the bundle auth key in ${name} is the liquidator's own key; use a separate key (it is public at builders)`,
    )
  if (hotWallets.some((w) => w.address === account.address))
    throw new UsageError(
      `the bundle auth key in ${name} is one of the hot wallets' keys; use a separate key (it is public at builders)`,
    )
  return account
}

export async function startDaemon(
  config: Config,
  env: Record<string, string | undefined>,
  log: Logger,
): Promise<Daemon> {
  const signer = loadSigner(config, env)
  const hotWallets = loadHotWallets(config, env, signer)
  const bundleAuth = loadBundleAuth(config, env, signer, hotWallets)
  const metrics = createMetrics()
  const primary = await connectHttp(config.rpcHttp, config.chainId, () =>
    metrics.rpcRequests.inc({ transport: 'http' }),
  )
  const chainId = primary.chainId
  // Several endpoints: every one must be the same chain; reads then go through a failover pool.
  for (const extra of config.rpcExtra) await connectHttp(extra.http, chainId)
  const pool =
    config.rpcExtra.length > 0
      ? createEndpointPool({
          urls: [config.rpcHttp, ...config.rpcExtra.map((e) => e.http)],
          chainId,
          maxLagBlocks: config.rpcMaxLagBlocks,
          onRequest: () => metrics.rpcRequests.inc({ transport: 'http' }),
          onError: (endpoint) => metrics.endpointErrors.inc({ endpoint }),
          onDemotion: (endpoint, reason) => {
            metrics.endpointDemoted.set({ endpoint }, reason ? 1 : 0)
            if (reason) log.warn({ endpoint, reason }, 'RPC endpoint demoted')
            else log.info({ endpoint }, 'RPC endpoint caught up; no longer demoted')
          },
        })
      : undefined
  const client = pool?.client ?? primary.client
  let engine: Engine | undefined
  let watcher: ChainWatcher | undefined
  let ws: WsConnection | undefined
  // Startup steps retry transient failures (rate limits, dropped sockets, garbled answers) with
  // backoff; a misconfiguration (wrong chain, wrong address) still fails at once.
  const onRetry = (step: string, error: unknown, delayMs: number) =>
    log.warn({ step, err: errorText(error), retryInMs: delayMs }, 'startup step failed transiently; retrying')
  const retrying = <T>(step: string, fn: () => Promise<T>) => retryTransient(step, fn, { onRetry })
  /** A WebSocket that stays up; reconnects are counted and `onReconnect` backfills. */
  const openWs = (url: string, onReconnect?: () => void) =>
    retrying('websocket', () =>
      createWsConnection(url, {
        onRequest: () => metrics.rpcRequests.inc({ transport: 'ws' }),
        onDisconnect: () => log.warn({ ws: displayUrl(url) }, 'WebSocket disconnected; reconnecting'),
        onReconnect: () => {
          metrics.reconnects.inc()
          onReconnect?.()
        },
      }),
    ).catch((error: unknown) => {
      throw new FatalError(`cannot reach WebSocket RPC ${displayUrl(url)}`, { cause: error })
    })
  if (config.rpcWs)
    ws = await openWs(config.rpcWs, () => {
      log.info('WebSocket reconnected; backfilling from the last processed block')
      if (engine && watcher)
        engine
          .catchUp(watcher)
          .catch((error: unknown) => log.warn({ err: errorText(error) }, 'catch-up failed'))
    })
  /** Every further endpoint's WebSocket (heads and pending transactions are taken from all). */
  const extraWs: (WsConnection | undefined)[] = []
  for (const extra of config.rpcExtra) extraWs.push(extra.ws ? await openWs(extra.ws) : undefined)

  const target = config.target.id
  let restored: unknown
  const snapshot = loadSnapshot(config.dataDir, { strategy: config.strategy, chainId, market: target })
  if (snapshot.status === 'ok') {
    const canonical = await retrying('snapshot block', () =>
      client.getBlock({ blockNumber: BigInt(snapshot.meta.blockNumber) }),
    ).catch(() => undefined)
    if (canonical?.hash === snapshot.meta.blockHash) restored = snapshot.state
    else
      log.warn(
        { block: snapshot.meta.blockNumber },
        'snapshot block is no longer canonical (reorged out or another chain); rebuilding',
      )
  } else if (snapshot.status === 'corrupt') {
    log.warn({ reason: snapshot.reason }, 'snapshot is corrupt; discarding it and rebuilding')
  } else if (snapshot.status === 'mismatch') {
    log.warn({ reason: snapshot.reason }, 'snapshot is for another chain or market; rebuilding')
  }

  const strategyLog = log.child({ component: config.strategy })
  const context = { client, log: strategyLog, sender: signer?.address }
  const start = { fromBlock: config.target.fromBlock }
  let strategy: Strategy
  try {
    strategy = await retrying('mirror', () =>
      config.module.create(context, config.target.options, { ...start, restored }),
    )
  } catch (error) {
    // Bad input is not the snapshot's fault: rebuilding would only say it again. A snapshot whose
    // state is damaged is the daemon's own cache: rebuilt.
    if (restored === undefined || (error instanceof UsageError && !(error instanceof CorruptStateError)))
      throw error
    log.warn({ err: errorText(error) }, 'snapshot cannot be restored; rebuilding from logs')
    restored = undefined
    strategy = await retrying('mirror', () => config.module.create(context, config.target.options, start))
  }
  const follower = createChainFollower({ client, strategy, log: log.child({ component: 'chain' }) })
  const snapshots = createSnapshotWriter(config.dataDir, (error) =>
    log.error({ err: errorText(error) }, 'snapshot write failed'),
  )
  const persist = (final = false) => {
    const head = strategy.head
    const meta = {
      strategy: config.strategy,
      chainId,
      market: target,
      blockNumber: head.number.toString(),
      blockHash: head.hash,
    }
    // A large mirror is encoded a slice at a time between events; the last one, at shutdown, whole.
    const parts = strategy.snapshotParts?.bind(strategy)
    if (parts && !final) snapshots.saveParts(meta, parts)
    else snapshots.save(meta, strategy.snapshot())
  }
  // OP-stack chains charge an L1 data fee per transaction: priced from the GasPriceOracle predeploy.
  const l1Fee = await retrying('L1 fee oracle', () => detectL1FeeOracle(client))
  const fastClient = createFastClient(client, ws)
  if (l1Fee) log.info('L1 data fee priced from the OP-stack GasPriceOracle')
  const bids =
    config.execution.bidPercentile === undefined
      ? undefined
      : createBidLearner({
          percentile: config.execution.bidPercentile,
          window: config.execution.bidWindow,
          minSamples: config.execution.bidMinSamples,
        })
  const bidLog = log.child({ component: 'bids' })
  const builderPayments = createBuilderPaymentReader(client, bidLog)
  /** What each winning transaction paid above the base fee, against the bonus its liquidations earned. */
  const learnFrom = async (events: LiquidationEvent[], header: BlockHeader) => {
    if (!bids) return
    const byTx = new Map<string, bigint>()
    for (const e of events) byTx.set(e.txHash, (byTx.get(e.txHash) ?? 0n) + e.valueBase)
    for (const [hash, bonusBase] of byTx) {
      try {
        // Transient failures (a loaded node, a rate limit) are retried: a sample read once is not lost.
        const receipt = await retryTransient('winning receipt', () =>
          client.getTransactionReceipt({ hash: hash as Hex }),
        )
        const baseFee =
          receipt.blockNumber === header.number
            ? (header.baseFeePerGas ?? 0n)
            : ((
                await retryTransient('winning block', () =>
                  client.getBlock({ blockNumber: receipt.blockNumber }),
                )
              ).baseFeePerGas ?? 0n)
        const tipPerGas = receipt.effectiveGasPrice > baseFee ? receipt.effectiveGasPrice - baseFee : 0n
        // A bundle searcher also pays the builder inside the transaction: part of what it took to win.
        const builderPaidWei = await builderPayments.paidWei(hash as Hex, receipt.blockNumber)
        bids.observe({
          tipPaidWei: tipPerGas * receipt.gasUsed + builderPaidWei,
          bonusBase,
          nativePriceBase: strategy.nativePriceBase(),
        })
        bidLog.debug(
          {
            tx: hash,
            tipPerGas: tipPerGas.toString(),
            builderPaidWei: builderPaidWei.toString(),
            samples: bids.samples,
          },
          'winning bid seen',
        )
      } catch (error) {
        bidLog.warn({ tx: hash, err: errorText(error) }, 'winning bid not read')
      }
    }
  }
  const backrunLanes = privateLanes(config, bundleAuth, client, log.child({ component: 'bundles' }), metrics)
  // One executor per hot wallet (the liquidator's first): each its own nonces, in-flight set, approvals.
  const walletExecutor = (account: LocalAccount | undefined) =>
    createExecutor({
      bids,
      l1Fee,
      client,
      fastClient,
      // Raw transactions go to every endpoint: the first to accept one returns its hash.
      ...(pool ? { lane: createBroadcastLane([fastClient, ...pool.clients.slice(1)]) } : {}),
      lanes: backrunLanes,
      account,
      strategy,
      log: log.child(
        hotWallets.length > 0
          ? { component: 'executor', wallet: account?.address }
          : { component: 'executor' },
      ),
      metrics,
      settings: {
        chainId,
        minProfitBase: parseUnits(config.execution.minProfitUsd, strategy.baseDecimals),
        priorityFeeShareBps: BigInt(config.execution.priorityFeeShareBps),
        maxFeePerGasWei: parseUnits(config.execution.maxFeePerGasGwei, 9),
        replaceAfterBlocks: config.execution.replaceAfterBlocks,
        gasLimitMarginBps: BigInt(config.execution.gasLimitMarginBps),
        dryRun: config.execution.dryRun,
        dryRunFrom: config.execution.liquidator,
      },
    })
  const executor = createWalletPool([signer, ...hotWallets].map(walletExecutor))
  if (strategy.nativePriceBase() === 0n && !config.execution.dryRun)
    throw new UsageError(
      `cannot value gas on chain ${chainId}: the native token's price is unknown (set market.wrappedNative to the chain's wrapped native token)`,
    )
  await retrying('approvals', () => executor.prepare())
  const createdEngine = createEngine({
    strategy,
    sync: async (header) => {
      const result = await follower.sync(header)
      // The chain as the daemon now holds it: endpoints that showed another block here disagree.
      pool?.noteCanonical(strategy.head.number, strategy.head.hash)
      return result
    },
    executor,
    log: log.child({ component: 'engine' }),
    metrics,
    persist,
    onLiquidations: (events, header) => void learnFrom(events, header),
    l1Fee,
    settings: {
      maxConcurrent: config.execution.maxConcurrent,
      burst: config.execution.burst,
      watchdogBlocks: config.watchdogBlocks,
      blockTimeMs: (config.blockTimeSeconds ?? 12) * 1000,
      snapshotEveryBlocks: 25,
      rankingTipWei: 10n ** 9n,
      crossCheckSample: config.crossCheckSample,
    },
  })
  engine = createdEngine
  const blockTimeMs = (config.blockTimeSeconds ?? 12) * 1000
  const oracles = strategy.oracleAddresses()
  // One watcher per endpoint; the first to bring a head or a pending transaction wins, and the
  // copies from the others are dropped. Each endpoint's heads also feed its health.
  const seenHeads = createRecentSet(1_024)
  const seenPending = createRecentSet(16_384)
  const endpointWatchers = [
    { http: pool?.clients[0] ?? client, ws },
    ...config.rpcExtra.map((_, i) => ({ http: pool?.clients[i + 1] ?? client, ws: extraWs[i] })),
  ].map((endpoint, i) =>
    createChainWatcher({
      client: endpoint.http,
      ws: endpoint.ws,
      log: log.child({ component: 'collector', endpoint: pool?.health[i]?.name ?? '0' }),
      pollIntervalMs: Math.min(1_000, Math.max(250, blockTimeMs / 4)),
      onHead: (header) => {
        pool?.noteHead(i, header.number, header.hash)
        if (pool)
          metrics.endpointHead.set({ endpoint: pool.health[i]?.name ?? String(i) }, Number(header.number))
        if (seenHeads.add(header.hash)) createdEngine.onHead(header)
      },
      onPendingTx: (tx) => {
        if (seenPending.add(tx.hash)) createdEngine.onPendingTx(tx)
      },
      wantsPending: (to) => to !== null && oracles.has(to.toLowerCase()),
      // A newHeads subscription silent for 3 block times while HTTP shows new blocks is replaced.
      silence: {
        checkMs: Math.min(4_000, Math.max(500, blockTimeMs)),
        silentMs: () => 3 * blockTimeMs,
      },
    }),
  )
  const createdWatcher: ChainWatcher = {
    ready: Promise.all(endpointWatchers.map((w) => w.ready)).then(() => undefined),
    stop: () => {
      for (const w of endpointWatchers) w.stop()
    },
    latestHead: async () => headerOf(await client.getBlock({ blockTag: 'latest' })),
    settledHead: () => settledHead(client),
  }
  watcher = createdWatcher
  await createdWatcher.ready
  await retrying('catch-up', () => createdEngine.catchUp(createdWatcher))
  // A pull oracle's off-chain stream, when the strategy reads one: prices before they land.
  let prices: HermesStream | undefined
  const stream = strategy.priceStream?.()
  if (stream) {
    // Loaded only when a strategy streams prices: its HTTP client costs ~180 ms of every start.
    const { createHermesStream } = await import('./prices/hermesStream.js')
    prices = createHermesStream({
      endpoint: stream.endpoint,
      feedIds: stream.feedIds,
      log: log.child({ component: 'prices' }),
      onPrices: (streamed) => {
        metrics.priceStreamUpdates.inc()
        createdEngine.onStreamedPrices(streamed)
      },
      onError: () => metrics.priceStreamErrors.inc(),
    })
    // Down at start is not fatal: it is retried, and planning uses on-chain prices meanwhile.
    await prices.ready.catch(() => undefined)
  }
  let server: Server | undefined
  if (config.metricsPort !== undefined) {
    server = await serveMetrics(metrics, config.metricsPort, config.metricsHost, () =>
      createdEngine.health(),
    ).catch((error: unknown) => {
      throw new FatalError(
        `cannot serve metrics on ${config.metricsHost}:${config.metricsPort}: ${errorText(error)}`,
      )
    })
  }
  const watchdog = setInterval(() => createdEngine.health(), 1000)
  watchdog.unref()
  log.info(
    {
      chainId,
      strategy: config.strategy,
      target: strategy.describe(),
      accounts: strategy.accountCount(),
      liquidator: executor.address,
      ...(signer ? { transactionSigner } : {}),
      ...(hotWallets.length > 0 ? { hotWallets: hotWallets.map((w) => w.address) } : {}),
      dryRun: config.execution.dryRun,
    },
    'undertow running',
  )
  return {
    engine: createdEngine,
    executor,
    strategy,
    metrics,
    watcher: createdWatcher,
    prices,
    startedFrom: restored ? 'snapshot' : 'backfill',
    bids,
    async stop(timeoutMs = 30_000) {
      await createdEngine.drain(timeoutMs)
      await snapshots.flush()
      createdWatcher.stop()
      prices?.close()
      clearInterval(watchdog)
      await ws?.close()
      for (const extra of extraWs) await extra?.close()
      if (server) await new Promise<void>((resolve) => server?.close(() => resolve()))
    },
  }
}

/** The private lanes the config asks for (block liquidations and backruns), over the same builders. */
function privateLanes(
  config: Config,
  auth: LocalAccount | undefined,
  client: PublicClient,
  log: Logger,
  metrics: Metrics,
): { block?: SubmissionLane; backrun?: SubmissionLane } {
  const ex = config.execution
  if (!auth) return {}
  const relays = ex.builders.map((b) => createRelayClient(b, auth))
  const lane = (backrun: BackrunRoute) =>
    createBundleLane({ relays, backrun, targetBlocks: ex.bundleBlocks, client, log, metrics })
  return {
    ...(ex.lane === 'bundle' ? { block: lane('bundle') } : {}),
    ...(ex.backrunLane !== 'public' ? { backrun: lane(ex.backrunLane) } : {}),
  }
}
