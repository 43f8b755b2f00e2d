/**
 * Turns opportunities into landed transactions, by composing one-job modules: approvals, simulation
 * (profit measured by the opportunity's probes), the gas policy, the nonce manager, a submission
 * lane and the in-flight tracker. A key is claimed before simulation and released only when its
 * transaction settles (or nothing was sent), so one key never has two transactions in flight.
 */
import {
  type Address,
  type Client,
  encodeFunctionData,
  formatUnits,
  type Hex,
  type LocalAccount,
  type PublicClient,
  parseAbi,
  type StateOverride,
} from 'viem'
import type { L1FeeOracle } from '../chain/l1Fee.js'
import { errorText } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { BlockHeader, Opportunity, Strategy } from '../types.js'
import type { BidLearner } from './bidLearner.js'
import { discoverFundingOverrides } from './fundingOverrides.js'
import { bidGas, bumpGas, type GasBid, gasCostBase } from './gasPolicy.js'
import { createNonceManager, type NonceManager } from './nonceManager.js'
import {
  createPublicLane,
  type LaneContext,
  type SubmissionLane,
  signTx,
  type TxRequest,
} from './publicLane.js'
import type { RefusalReason } from './refusal.js'
import { simulateOpportunity } from './simulate.js'
import { createSimulationBatcher } from './simulationBatch.js'
import { appendBounded, createTracker, type ExecutionRecord, type InFlight, MAX_RECORDS } from './tracker.js'

export type { ExecutionRecord } from './tracker.js'

const erc20 = parseAbi([
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
])

export interface ExecutorSettings {
  chainId: number
  minProfitBase: bigint
  priorityFeeShareBps: bigint
  maxFeePerGasWei: bigint
  replaceAfterBlocks: number
  gasLimitMarginBps: bigint
  dryRun: boolean
  /** Who a dry run without a key simulates from (default: an address that holds nothing). */
  dryRunFrom?: Address | undefined
}

/** A dry run's sender when none is given: a fixed address nobody holds a key for. */
export const DRY_RUN_SENDER: Address = '0x00000000000000000000000000000000DeaDBeef'

export type ExecuteOutcome = 'sent' | 'skipped' | 'refused'

export interface Executor {
  prepare(): Promise<void>
  /**
   * Simulates, prices and sends. `isCurrent` is asked once more right before signing: a backrun
   * planned on some pending updates may have been superseded by later ones while it was simulated.
   */
  execute(opportunity: Opportunity, head: BlockHeader, isCurrent?: () => boolean): Promise<ExecuteOutcome>
  onBlock(header: BlockHeader): Promise<void>
  isBusy(key: string): boolean
  inFlightCount(): number
  /** Keys with a backrun in flight, not yet cancelled. */
  inFlightBackruns(): string[]
  /**
   * Replaces an in-flight backrun with a 0-value self-transfer at the same nonce (+12.5% fees): a
   * later pending oracle update made the account healthy again, so the liquidation would revert.
   */
  cancel(key: string, reason: string): Promise<boolean>
  /**
   * Values every in-flight backrun's simulated deltas again at the prices of a later pending
   * update (and the earlier ones) and cancels each that no longer clears its cost and the minimum
   * profit: it lands before that update, at the old prices.
   */
  repriceBackruns(predicted: ReadonlyMap<string, bigint>, timestamp: bigint, reason: string): void
  readonly records: ExecutionRecord[]
  /** Pending oracle transaction received → signed backrun sent, per submission (ms). */
  readonly tickToTrade: { oracleTx: Hex; ms: number }[]
  readonly address: Address | undefined
}

export interface ExecutorDeps {
  client: PublicClient
  /** The client for simulation and submission (over the WebSocket when there is one). */
  fastClient?: Client | undefined
  account: LocalAccount | undefined
  strategy: Strategy
  settings: ExecutorSettings
  log: Logger
  metrics: Metrics
  /** The public mempool (approvals and cancels always go there). */
  lane?: SubmissionLane
  /** Lanes by kind of liquidation (default: the public one for both). */
  lanes?: { block?: SubmissionLane | undefined; backrun?: SubmissionLane | undefined }
  /** OP-stack chains: the L1 data fee each transaction also pays. */
  l1Fee?: L1FeeOracle | undefined
  /** What winners paid: the share of profit to bid once it knows (the configured one until then). */
  bids?: BidLearner | undefined
  now?: () => number
}

export function createExecutor(deps: ExecutorDeps): Executor {
  const { client, strategy, settings, log, metrics, account } = deps
  const fast = deps.fastClient ?? client
  const now = deps.now ?? (() => performance.timeOrigin + performance.now())
  const lane = deps.lane ?? createPublicLane(fast)
  const blockLane = deps.lanes?.block ?? lane
  const backrunLane = deps.lanes?.backrun ?? lane
  const laneFor = (opp: Opportunity) => (opp.dependsOn ? backrunLane : blockLane)
  const tickToTrade: { oracleTx: Hex; ms: number }[] = []
  /** Keys claimed by an execution still simulating or signing (not yet in the tracker). */
  const claimed = new Set<string>()
  /** A dry run simulates as the liquidator (the key's address or --liquidator), funded by overrides where it holds nothing. */
  const dryRun = settings.dryRun || !account
  const simulateFrom: Address = dryRun
    ? (settings.dryRunFrom ?? account?.address ?? DRY_RUN_SENDER)
    : (account as LocalAccount).address
  let funding: StateOverride | undefined
  /** The simulations a burst asks for at once go to the node as a few blocks, not one call each. */
  const simulations = createSimulationBatcher(fast, simulateFrom)
  /** What a dry run last reported per key, so each liquidation is named once until its plan changes. */
  const reported = new Map<string, string>()

  const sign = async (tx: TxRequest): Promise<Hex> => {
    if (!account) throw new Error('no signing account')
    return signTx(account, settings.chainId, tx)
  }
  const send = async (tx: TxRequest, by: SubmissionLane = lane, context?: LaneContext): Promise<Hex> =>
    by.submit(await sign(tx), { ...(context ?? { headNumber: 0n }), sender: account?.address })

  /** An in-flight transaction again at its nonce, with another bid. */
  const sameCall = (entry: InFlight, bid: GasBid): TxRequest => ({
    nonce: entry.nonce,
    to: entry.opportunity.call.to,
    data: entry.opportunity.call.data,
    value: entry.opportunity.call.value,
    gas: entry.gasLimit,
    bid,
  })

  const tracker = createTracker({
    client,
    sender: account?.address,
    strategy,
    log,
    metrics,
    now,
    replaceAfterBlocks: settings.replaceAfterBlocks,
    maxFeePerGasWei: settings.maxFeePerGasWei,
    resend: (entry: InFlight, bid: GasBid) =>
      send(sameCall(entry, bid), entry.lane, { opportunity: entry.opportunity, headNumber: entry.sentBlock }),
    minedNonce: async () =>
      account ? client.getTransactionCount({ address: account.address, blockTag: 'latest' }) : undefined,
    resyncNonce: async () => nonces?.resync(),
    releaseNonce: (nonce) => nonces?.release(nonce),
    resign: (entry, bid) => sign(sameCall(entry, bid)),
    fillNonce: async (entry, header) => {
      if (!account) throw new Error('no signing account')
      const tip = entry.bid.maxPriorityFeePerGas
      return send({
        nonce: entry.nonce,
        to: account.address,
        data: '0x',
        value: 0n,
        gas: 21_000n,
        bid: { maxFeePerGas: (header.baseFeePerGas ?? 0n) * 2n + tip, maxPriorityFeePerGas: tip },
      })
    },
    stillProfitable: async (entry, header) => {
      // The oracle update landed without it: the liquidation alone, at the next block's time.
      let base: Opportunity = entry.opportunity
      if (entry.dependencyLanded) {
        const { dependsOn: _landed, precededBy: _before, ...alone } = entry.opportunity
        base = alone
      }
      const next = header.timestamp + 1n
      const opp = { ...base, atTimestamp: next > base.atTimestamp ? next : base.atTimestamp }
      const sim = await simulateOpportunity(fast, opp, simulateFrom)
      if (!sim.ok) return false
      const nativePrice = strategy.nativePriceBase()
      const profitBase = sim.profitBase - (opp.call.value * nativePrice) / 10n ** 18n
      const fee = (header.baseFeePerGas ?? 0n) + entry.bid.maxPriorityFeePerGas
      const gasBase = gasCostBase(
        sim.gasUsed,
        fee < entry.bid.maxFeePerGas ? fee : entry.bid.maxFeePerGas,
        nativePrice,
      )
      return profitBase - gasBase >= settings.minProfitBase
    },
  })
  const { inFlight } = tracker
  const nonces: NonceManager | undefined = account
    ? createNonceManager(client, account.address, () => [...inFlight.values()].map((e) => e.nonce))
    : undefined

  const refuse = (opp: Opportunity, reason: RefusalReason, extra: Record<string, unknown> = {}) => {
    metrics.refused.inc({ reason })
    log.debug({ account: opp.account, key: opp.key, reason, ...extra }, 'opportunity refused')
    return 'refused' as const
  }

  /** Replaces an in-flight backrun with a 0-value self-transfer at its nonce (+12.5% fees). */
  async function cancelEntry(entry: InFlight, reason: string): Promise<boolean> {
    if (!account || entry.cancelling) return false
    entry.cancelling = true
    // A private submission is withdrawn by not resending it (builders never include a bundle
    // whose liquidation would revert); its nonce is released once its last target block passed.
    if (entry.lane.private) {
      entry.withdrawn = 'withdrawn'
      metrics.submissions.inc({ kind: 'withdraw' })
      log.info({ account: entry.opportunity.account, nonce: entry.nonce, reason }, 'backrun withdrawn')
      return true
    }

    const bid = bumpGas(entry.bid)
    try {
      const hash = await send({
        nonce: entry.nonce,
        to: account.address,
        data: '0x',
        value: 0n,
        gas: 21_000n,
        bid,
      })
      entry.cancelHash = hash
      entry.hashes.push(hash)
      entry.bid = bid
      metrics.submissions.inc({ kind: 'cancel' })
      log.info({ account: entry.opportunity.account, nonce: entry.nonce, hash, reason }, 'backrun cancelled')
      return true
    } catch (error) {
      // Most likely already mined: its receipt settles it (and no other cancel is tried).
      metrics.rpcErrors.inc({ stage: 'cancel' })
      log.warn({ account: entry.opportunity.account, err: errorText(error) }, 'cancel rejected')
      return false
    }
  }

  async function requestCancel(entry: InFlight, reason: string): Promise<boolean> {
    if (entry.cancelling || entry.cancelRequested || !account) return false
    // Still being sent: the cancel follows as soon as its hash is known (same nonce).
    if (entry.hashes.length === 0) {
      entry.cancelRequested = reason
      return true
    }
    return cancelEntry(entry, reason)
  }

  /**
   * The direct call and every route this sender can use, each as the opportunity it would send. A
   * route's own floor is the minimum profit plus its estimated gas at twice the base fee: below
   * that the contract reverts, on the chain as in simulation.
   */
  const variantsOf = (opp: Opportunity, head: BlockHeader): { route: string; opp: Opportunity }[] => {
    if (!opp.routes || opp.routes.length === 0) return [{ route: 'direct', opp }]
    const { routes, ...direct } = opp
    // A route measures its profit with probes of its own: the direct call's repricing is not theirs.
    const { probesAt: _direct, ...routed } = direct
    const out: { route: string; opp: Opportunity }[] = [{ route: 'direct', opp: direct }]
    const nativePrice = strategy.nativePriceBase()
    for (const route of routes) {
      const floor =
        settings.minProfitBase + gasCostBase(route.gasEstimate, (head.baseFeePerGas ?? 0n) * 2n, nativePrice)
      const call = route.call(simulateFrom, floor)
      if (call)
        out.push({
          route: route.name,
          opp: { ...routed, call, probes: route.probes, gasEstimate: route.gasEstimate },
        })
    }
    return out
  }

  async function executeClaimed(
    planned: Opportunity,
    head: BlockHeader,
    isCurrent: (() => boolean) | undefined,
  ): Promise<ExecuteOutcome> {
    const started = now()
    // Every way to execute it is simulated at once; the one netting the most at the base fee wins.
    const variants = variantsOf(planned, head)
    const simulated = await Promise.all(
      variants.map((v) =>
        simulations.simulate(v.opp, dryRun ? funding : undefined).then(
          (sim) => ({ ...v, sim }),
          (error: unknown) => ({ ...v, error }),
        ),
      ),
    )
    const failed = simulated.filter((v) => 'error' in v)
    if (failed.length === simulated.length) {
      metrics.rpcErrors.inc({ stage: 'simulate' })
      log.warn(
        { account: planned.account, err: errorText((failed[0] as { error: unknown }).error) },
        'simulation failed',
      )
      return refuse(planned, 'simulation failed')
    }
    const nativeNow = strategy.nativePriceBase()
    let chosen:
      | { route: string; opp: Opportunity; sim: Awaited<ReturnType<typeof simulateOpportunity>> }
      | undefined
    let chosenNet = 0n
    for (const v of simulated) {
      if (!('sim' in v) || !v.sim.ok) continue
      const net = v.sim.profitBase - gasCostBase(v.sim.gasUsed, head.baseFeePerGas ?? 0n, nativeNow)
      if (!chosen || net > chosenNet) {
        chosen = v
        chosenNet = net
      }
    }
    metrics.stageSeconds.observe({ stage: 'simulate' }, (now() - started) / 1000)
    if (!chosen) {
      const detail = simulated
        .map((v) => `${v.route}: ${'sim' in v ? v.sim.reason : errorText(v.error)}`)
        .join('; ')
      return refuse(planned, 'simulation reverts', { detail })
    }
    const { opp, sim, route } = chosen
    // What the call pays in native value (a pull-oracle update fee) is a cost like gas.
    const profitBase = sim.profitBase - (opp.call.value * strategy.nativePriceBase()) / 10n ** 18n
    // Simulation reports gas after refunds, and EIP-3529 refunds up to a fifth of what ran: the
    // limit must cover the gas before refunds (×5/4), then the margin for nested calls' 63/64 and
    // state drift. A flash route clears enough storage that ×1.2 of the reported figure runs out.
    const gasLimit = (sim.gasUsed * 5n * (10_000n + settings.gasLimitMarginBps)) / 40_000n
    const nativePrice = strategy.nativePriceBase()
    // What the bid may share excludes the L1 data fee (estimated here, read exactly below).
    const l1EstimateBase = deps.l1Fee
      ? (deps.l1Fee.estimateWei(opp.call.data) * nativePrice) / 10n ** 18n
      : 0n
    // The share of profit offered to the block producer: learned from the winners once there are
    // enough of them, the configured one until then; a backrun copies its oracle update's fees.
    const learned = opp.dependsOn ? undefined : deps.bids?.current()
    const bidReason = opp.dependsOn
      ? { source: 'oracle update fees' }
      : learned
        ? {
            source: 'learned',
            shareBps: learned.shareBps.toString(),
            percentile: learned.percentile,
            samples: learned.samples,
          }
        : { source: 'configured', shareBps: settings.priorityFeeShareBps.toString() }
    const bid = bidGas({
      profitBase: profitBase - l1EstimateBase,
      gasLimit,
      baseFeeWei: head.baseFeePerGas ?? 0n,
      nativePriceBase: nativePrice,
      shareBps: learned?.shareBps ?? settings.priorityFeeShareBps,
      maxFeeCapWei: settings.maxFeePerGasWei,
      dependsOn: opp.dependsOn,
      keepBase: settings.minProfitBase,
    })
    if ('refuse' in bid) return refuse(opp, bid.refuse)
    const expectedFee = (head.baseFeePerGas ?? 0n) + bid.maxPriorityFeePerGas
    // OP stack: the L1 data fee of exactly this transaction (a concurrent send can shift the nonce
    // by one, a byte at most).
    let l1FeeWei = 0n
    if (deps.l1Fee) {
      try {
        l1FeeWei = await deps.l1Fee.feeWei({
          chainId: settings.chainId,
          nonce: nonces?.peek() ?? 0,
          to: opp.call.to,
          data: opp.call.data,
          value: opp.call.value,
          gas: gasLimit,
          maxFeePerGas: bid.maxFeePerGas,
          maxPriorityFeePerGas: bid.maxPriorityFeePerGas,
        })
      } catch (error) {
        metrics.rpcErrors.inc({ stage: 'l1fee' })
        log.warn({ account: opp.account, err: errorText(error) }, 'L1 fee read failed')
        return refuse(opp, 'L1 data fee unknown')
      }
    }
    const l1FeeBase = (l1FeeWei * nativePrice) / 10n ** 18n
    const netBase =
      profitBase -
      gasCostBase(sim.gasUsed, expectedFee < bid.maxFeePerGas ? expectedFee : bid.maxFeePerGas, nativePrice) -
      l1FeeBase
    if (netBase < settings.minProfitBase)
      return refuse(opp, 'below min profit', { netBase: netBase.toString(), l1FeeWei: l1FeeWei.toString() })
    if (isCurrent && !isCurrent()) return refuse(opp, 'superseded by a later pending oracle update')
    metrics.opportunities.inc({ source: opp.dependsOn ? 'pending-oracle' : 'block' })
    if (dryRun || !account || !nonces) {
      // Info level, once per key and plan: a dry run exists to show what would be sent.
      const line = {
        account: opp.account,
        key: opp.key,
        ...printable(opp.details),
        expectedProfitUsd: formatUnits(profitBase, strategy.baseDecimals),
        netProfitUsd: formatUnits(netBase, strategy.baseDecimals),
        gasUsed: sim.gasUsed.toString(),
        gasLimit: gasLimit.toString(),
        l1FeeWei: l1FeeWei.toString(),
        maxFeePerGasWei: bid.maxFeePerGas.toString(),
        maxPriorityFeePerGasWei: bid.maxPriorityFeePerGas.toString(),
        backrun: opp.dependsOn?.hash,
        route,
        bid: bidReason,
        from: simulateFrom,
      }
      const signature = JSON.stringify({ ...printable(opp.details), backrun: opp.dependsOn?.hash })
      if (reported.get(opp.key) !== signature) {
        reported.set(opp.key, signature)
        log.info(line, 'dry run: would submit liquidation')
      }
      return refuse(opp, 'dry run')
    }
    const nonce = await nonces.take()
    const by = laneFor(opp)
    const entry: InFlight = {
      lane: by,
      opportunity: opp,
      route,
      simulatedDeltas: sim.deltas,
      nonce,
      gasLimit,
      bid,
      hashes: [],
      sentBlock: head.number,
      submittedAt: now(),
      budgetBase: profitBase - l1FeeBase - settings.minProfitBase,
      costBase: profitBase - netBase,
    }
    inFlight.set(opp.key, entry)
    try {
      const signed = await sign({
        nonce,
        to: opp.call.to,
        data: opp.call.data,
        value: opp.call.value,
        gas: gasLimit,
        bid,
      })
      if (by.private) {
        entry.signed = signed
        entry.lastTarget = head.number + BigInt(by.targetBlocks)
      }
      // Sent now: signed, handed to the lane (its answer is the node's or builder's, later).
      entry.submittedAt = now()
      entry.hashes.push(
        await by.submit(signed, { opportunity: opp, headNumber: head.number, sender: account.address }),
      )
    } catch (error) {
      inFlight.delete(opp.key)
      metrics.rpcErrors.inc({ stage: 'send' })
      if (by.private) {
        // No builder took it: the nonce was never used anywhere.
        log.warn({ account: opp.account, err: errorText(error) }, 'bundle not accepted by any builder')
        nonces.release(nonce)
      } else {
        log.warn({ account: opp.account, err: errorText(error) }, 'send failed; resyncing nonce')
        await nonces.resync()
      }
      return refuse(opp, 'send failed')
    }
    metrics.submissions.inc({ kind: opp.dependsOn ? 'backrun' : 'liquidation' })
    // A later pending update made the account healthy while this was on its way to the node.
    if (entry.cancelRequested) void cancelEntry(entry, entry.cancelRequested)
    if (opp.dependsOn) {
      const ms = entry.submittedAt - opp.dependsOn.seenAt
      metrics.tickToTradeSeconds.observe(ms / 1000)
      appendBounded(tickToTrade, { oracleTx: opp.dependsOn.hash, ms }, MAX_RECORDS)
    }
    metrics.stageSeconds.observe({ stage: 'detect_to_submit' }, (entry.submittedAt - opp.detectedAt) / 1000)
    log.info(
      {
        account: opp.account,
        key: opp.key,
        nonce,
        hash: entry.hashes[0],
        netBase: netBase.toString(),
        ...(deps.l1Fee ? { l1FeeWei: l1FeeWei.toString() } : {}),
        lane: by.name,
        route,
        bid: { ...bidReason, maxPriorityFeePerGasWei: bid.maxPriorityFeePerGas.toString() },
        backrun: opp.dependsOn?.hash,
        details: printable(opp.details),
      },
      'liquidation submitted',
    )
    return 'sent'
  }

  return {
    records: tracker.records,
    tickToTrade,
    get address() {
      return account?.address
    },
    isBusy: (key) => inFlight.has(key) || claimed.has(key),
    inFlightCount: () => inFlight.size,
    inFlightBackruns: () =>
      [...inFlight.entries()]
        .filter(
          ([, e]) =>
            e.opportunity.dependsOn !== undefined && !e.cancelling && !e.cancelRequested && !e.withdrawn,
        )
        .map(([key]) => key),

    async cancel(key, reason) {
      const entry = inFlight.get(key)
      return entry ? requestCancel(entry, reason) : false
    },

    repriceBackruns(predicted, timestamp, reason) {
      const nativePrice = strategy.nativePriceBase()
      for (const [key, entry] of inFlight) {
        const opp = entry.opportunity
        if (!opp.dependsOn || !opp.probesAt || !entry.simulatedDeltas) continue
        if (entry.cancelling || entry.cancelRequested || entry.withdrawn) continue
        const probes = opp.probesAt(predicted, timestamp)
        let profitBase = -(opp.call.value * nativePrice) / 10n ** 18n
        for (const [i, probe] of probes.entries())
          profitBase += probe.valueBase(entry.simulatedDeltas[i] ?? 0n)
        const netBase = profitBase - entry.costBase
        if (netBase >= settings.minProfitBase) continue
        log.info(
          { account: opp.account, key, netBase: netBase.toString() },
          'backrun repriced below min profit',
        )
        void requestCancel(entry, reason)
      }
    },

    async prepare() {
      if (dryRun) {
        const found = await discoverFundingOverrides(
          client,
          simulateFrom,
          strategy.approvals(),
          await client.getBalance({ address: simulateFrom }),
        )
        funding = found.overrides
        log.info(
          { from: simulateFrom, funded: found.overrides.length, unfunded: found.unfunded },
          'dry run: simulating as the liquidator, balances it lacks given by state overrides',
        )
        return
      }
      if (!account || !nonces) return
      const sent: Hex[] = []
      for (const { token, spender } of strategy.approvals()) {
        const allowance = await client.readContract({
          address: token,
          abi: erc20,
          functionName: 'allowance',
          args: [account.address, spender],
        })
        if (allowance > 2n ** 200n) continue
        const block = await client.getBlock()
        const baseFee = block.baseFeePerGas ?? 0n
        const hash = await send({
          nonce: await nonces.take(),
          to: token,
          data: encodeFunctionData({ abi: erc20, functionName: 'approve', args: [spender, 2n ** 256n - 1n] }),
          value: 0n,
          gas: 100_000n,
          bid: { maxFeePerGas: baseFee * 2n + 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n },
        })
        metrics.submissions.inc({ kind: 'approve' })
        log.info({ token, spender, hash }, 'approval sent')
        sent.push(hash)
      }
      // Liquidations simulate against the allowance: wait until the approvals are mined.
      for (const hash of sent)
        await client.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 120_000 })
    },

    async execute(opp, head, isCurrent) {
      if (inFlight.has(opp.key) || claimed.has(opp.key)) return 'skipped'
      claimed.add(opp.key)
      try {
        return await executeClaimed(opp, head, isCurrent)
      } finally {
        claimed.delete(opp.key)
      }
    },

    onBlock: (header) => tracker.onBlock(header),
  }
}

/** Details as strings (bigints do not survive JSON log lines). */
function printable(details: Opportunity['details']): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const [k, v] of Object.entries(details)) out[k] = typeof v === 'bigint' ? v.toString() : v
  return out
}
