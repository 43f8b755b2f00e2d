/**
 * What is in flight, by opportunity key: at most one transaction per key. Each head it reads the
 * receipts of every hash sent for an entry (replacements included): a receipt settles the entry
 * once the mirror has that block; a nonce consumed by none of our hashes is a drop; a transaction
 * stuck for `replaceAfterBlocks` is replaced with both fees raised, within the profit budget.
 * A failed receipt read settles nothing: it is retried on the next head.
 */
import { type Address, type Hex, keccak256, type PublicClient, TransactionReceiptNotFoundError } from 'viem'
import { receiptLogs } from '../chain/types.js'
import { errorText } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { BlockHeader, LiquidationEvent, Opportunity, Strategy } from '../types.js'
import { bumpGas, type GasBid, gasCostBase } from './gasPolicy.js'
import type { SubmissionLane } from './publicLane.js'

export interface InFlight {
  opportunity: Opportunity
  /** How it executes: "direct" (the liquidator's own inventory) or a route's name ("flash"). */
  route?: string
  /** What simulation measured per profit probe (after − before), to compare with what landed. */
  simulatedDeltas?: bigint[]
  nonce: number
  gasLimit: bigint
  bid: GasBid
  hashes: Hex[]
  sentBlock: bigint
  submittedAt: number
  budgetBase: bigint
  /** What sending it costs beyond the call's value: gas at the expected fee and the L1 data fee. */
  costBase: bigint
  /** Set once a cancel was decided (before it is sent, so two updates cannot send two). */
  cancelling?: boolean
  /** The 0-value self-transfer that replaced this (stale) backrun. */
  cancelHash?: Hex
  /** A cancel asked for while the backrun itself was still being sent: sent right after it. */
  cancelRequested?: string
  /** The lane it went by; a private lane's submission is resent each block until included. */
  lane: SubmissionLane
  /** The signed bytes a private lane resends (never logged). */
  signed?: Hex
  /** The last block a private submission targets. */
  lastTarget?: bigint
  /** Why a private submission is no longer resent; its nonce is released once its last target passed. */
  withdrawn?: string
  /** A private backrun whose oracle update landed without it: resent on its own. */
  dependencyLanded?: boolean
}

export interface ExecutionRecord {
  key: string
  account: Address
  hash: Hex
  blockNumber: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  /** What landed, read back from the receipt. */
  event: LiquidationEvent
  /** Whether it did exactly what the opportunity predicted. */
  agreed: boolean
  opportunity: Opportunity
  route: string
  /** The probes' deltas the sending simulation measured. */
  simulatedDeltas: bigint[]
  detectedAt: number
  submittedAt: number
  includedAt: number
  predicted: boolean
}

export interface TrackerDeps {
  client: PublicClient
  /** The wallet whose transactions these are (private lanes group bundles by sender and nonce). */
  sender?: Address | undefined
  strategy: Strategy
  log: Logger
  metrics: Metrics
  now: () => number
  replaceAfterBlocks: number
  maxFeePerGasWei: bigint
  /** Sends a replacement at the same nonce; returns its hash. */
  resend(entry: InFlight, bid: GasBid): Promise<Hex>
  /** Signs the same transaction at the same nonce with another bid (a private lane resends it). */
  resign?(entry: InFlight, bid: GasBid): Promise<Hex>
  /** The signer's mined nonce count, or undefined in dry runs. */
  minedNonce(): Promise<number | undefined>
  /** Our nonce was consumed elsewhere: re-read the pending count. */
  resyncNonce(): Promise<void>
  /** A private submission expired unincluded: its nonce is free again. */
  releaseNonce(nonce: number): void
  /**
   * Fills the nonce of a private submission that expired below others still in flight (a gap
   * would hold every one of them back): a 0-value self-transfer at that nonce, in the public
   * mempool; returns its hash.
   */
  fillNonce(entry: InFlight, header: BlockHeader): Promise<Hex>
  /** Re-simulates a private submission at the new head: is it still worth sending? */
  stillProfitable(entry: InFlight, header: BlockHeader): Promise<boolean>
}

/**
 * The newest landed liquidations kept in memory (reports, agreement checks, the demo's summary);
 * older ones are dropped so a daemon that runs for months does not grow without bound. Metrics and
 * logs keep the full history.
 */
export const MAX_RECORDS = 10_000

/** Appends, dropping the oldest beyond `max`. */
export function appendBounded<T>(list: T[], item: T, max: number): void {
  list.push(item)
  if (list.length > max) list.splice(0, list.length - max)
}

export interface Tracker {
  readonly inFlight: Map<string, InFlight>
  readonly records: ExecutionRecord[]
  onBlock(header: BlockHeader): Promise<void>
}

type ReceiptRead = Awaited<ReturnType<PublicClient['getTransactionReceipt']>> | 'none' | 'error'

export function createTracker(deps: TrackerDeps): Tracker {
  const { client, strategy, log, metrics } = deps
  const inFlight = new Map<string, InFlight>()
  const records: ExecutionRecord[] = []

  const readReceipt = async (hash: Hex): Promise<ReceiptRead> => {
    try {
      return await client.getTransactionReceipt({ hash })
    } catch (error) {
      if (error instanceof TransactionReceiptNotFoundError) return 'none'
      metrics.rpcErrors.inc({ stage: 'receipt' })
      log.warn({ hash, err: errorText(error) }, 'receipt read failed; retried next head')
      return 'error'
    }
  }

  async function settle(
    key: string,
    entry: InFlight,
    header: BlockHeader,
  ): Promise<'open' | 'done' | 'unknown'> {
    let unknown = false
    for (const hash of [...entry.hashes].reverse()) {
      const receipt = await readReceipt(hash)
      if (receipt === 'error') {
        unknown = true
        continue
      }
      if (receipt === 'none') continue
      // Resolve only once the mirror has the block that carries it, so plans never miss it.
      if (receipt.blockNumber > header.number) return 'unknown'
      inFlight.delete(key)
      const account = entry.opportunity.account
      if (hash === entry.cancelHash) {
        metrics.inclusions.inc({ status: 'cancelled' })
        log.info({ account, hash, block: receipt.blockNumber }, 'cancel included')
        return 'done'
      }
      if (receipt.status !== 'success') {
        metrics.inclusions.inc({ status: 'reverted' })
        metrics.lost.inc()
        log.warn(
          { account, hash, block: receipt.blockNumber },
          'liquidation reverted (taken by another liquidator?)',
        )
        return 'done'
      }
      metrics.inclusions.inc({ status: 'success' })
      if (entry.lane.private) await entry.lane.included?.(receipt.blockNumber)
      const event = strategy
        .liquidationsIn(receiptLogs(receipt.logs))
        .find((e) => e.account.toLowerCase() === account.toLowerCase())
      if (event) {
        appendBounded(
          records,
          {
            key,
            account,
            hash,
            blockNumber: receipt.blockNumber,
            gasUsed: receipt.gasUsed,
            effectiveGasPrice: receipt.effectiveGasPrice,
            event,
            agreed: strategy.agrees(entry.opportunity, event),
            opportunity: entry.opportunity,
            route: entry.route ?? 'direct',
            simulatedDeltas: entry.simulatedDeltas ?? [],
            detectedAt: entry.opportunity.detectedAt,
            submittedAt: entry.submittedAt,
            includedAt: deps.now(),
            predicted: entry.opportunity.dependsOn !== undefined,
          },
          MAX_RECORDS,
        )
      }
      log.info(
        {
          account,
          hash,
          block: receipt.blockNumber,
          gasUsed: receipt.gasUsed,
          route: entry.route ?? 'direct',
        },
        'liquidation included',
      )
      return 'done'
    }
    return unknown ? 'unknown' : 'open'
  }

  async function replaceIfStuck(entry: InFlight, header: BlockHeader) {
    if (entry.cancelling || header.number - entry.sentBlock < BigInt(deps.replaceAfterBlocks)) return
    const bumped = bumpGas(entry.bid)
    const worst = gasCostBase(entry.gasLimit, bumped.maxFeePerGas, strategy.nativePriceBase())
    if (bumped.maxFeePerGas > deps.maxFeePerGasWei || worst > entry.budgetBase) return
    try {
      entry.hashes.push(await deps.resend(entry, bumped))
      entry.bid = bumped
      entry.sentBlock = header.number
      metrics.submissions.inc({ kind: 'replacement' })
      log.info(
        {
          account: entry.opportunity.account,
          nonce: entry.nonce,
          maxFeePerGas: bumped.maxFeePerGas.toString(),
        },
        'stuck liquidation replaced',
      )
    } catch (error) {
      metrics.rpcErrors.inc({ stage: 'replace' })
      log.warn({ err: errorText(error) }, 'replacement rejected')
    }
  }

  /**
   * A private submission lives only for the blocks it targets: while it is still worth sending it
   * is resent for the next ones; once it is not (or it was withdrawn) it is left to expire, and its
   * nonce is released when its last target block has passed without it.
   */
  async function followPrivate(key: string, entry: InFlight, header: BlockHeader) {
    const account = entry.opportunity.account
    // Its nonce is being filled: the filler's receipt settles it.
    if (entry.cancelHash) return
    const expired = header.number >= (entry.lastTarget ?? 0n)
    if (!entry.withdrawn) {
      const dependsOn = entry.opportunity.dependsOn
      if (dependsOn && !entry.dependencyLanded) {
        const receipt = await readReceipt(dependsOn.hash)
        if (receipt !== 'none' && receipt !== 'error') entry.dependencyLanded = true
      }
      let profitable: boolean
      try {
        profitable = await deps.stillProfitable(entry, header)
      } catch (error) {
        // Not known this block: not resent, not given up.
        metrics.rpcErrors.inc({ stage: 'simulate' })
        log.warn({ account, err: errorText(error) }, 'resend not simulated; tried next head')
        return
      }
      if (!profitable) {
        entry.withdrawn = 'no longer profitable'
        log.info(
          { account, nonce: entry.nonce, block: header.number },
          'bundle no longer profitable: not resent',
        )
      } else if (entry.signed) {
        // A base fee above the signed fee cap makes it unincludable: re-signed at the same nonce
        // (only one of the two can ever land) with the cap raised, within the profit budget.
        const baseFee = header.baseFeePerGas ?? 0n
        if (baseFee > entry.bid.maxFeePerGas && deps.resign) {
          const tip = entry.bid.maxPriorityFeePerGas
          const bid = { maxFeePerGas: baseFee * 2n + tip, maxPriorityFeePerGas: tip }
          const worst = gasCostBase(entry.gasLimit, bid.maxFeePerGas, strategy.nativePriceBase())
          if (bid.maxFeePerGas <= deps.maxFeePerGasWei && worst <= entry.budgetBase) {
            try {
              entry.signed = await deps.resign(entry, bid)
              entry.bid = bid
              entry.hashes.push(keccak256(entry.signed))
              log.info(
                { account, nonce: entry.nonce, maxFeePerGas: bid.maxFeePerGas.toString() },
                'bundle re-signed above the base fee',
              )
            } catch (error) {
              log.warn({ account, err: errorText(error) }, 'bundle not re-signed')
            }
          }
        }
        try {
          await entry.lane.submit(entry.signed, {
            opportunity: entry.opportunity,
            headNumber: header.number,
            dependencyLanded: entry.dependencyLanded === true,
            sender: deps.sender,
          })
          entry.lastTarget = header.number + BigInt(entry.lane.targetBlocks)
          metrics.submissions.inc({ kind: 'resend' })
          log.debug({ account, nonce: entry.nonce, block: header.number }, 'bundle resent')
        } catch (error) {
          metrics.rpcErrors.inc({ stage: 'resend' })
          log.warn({ account, err: errorText(error) }, 'bundle resend refused')
        }
        return
      }
    }
    if (expired) expiredNow.set(key, entry)
  }

  /** Expired this head, not included: released from the top down, filled below a live one. */
  const expiredNow = new Map<string, InFlight>()

  async function giveUp(header: BlockHeader) {
    let liveTop = -1
    for (const [key, e] of inFlight) if (!expiredNow.has(key) && e.nonce > liveTop) liveTop = e.nonce
    for (const [key, entry] of expiredNow) {
      const account = entry.opportunity.account
      metrics.bundlesDropped.inc({ reason: entry.withdrawn ?? 'expired' })
      if (entry.nonce > liveTop) {
        inFlight.delete(key)
        deps.releaseNonce(entry.nonce)
        log.info({ account, nonce: entry.nonce, reason: entry.withdrawn }, 'bundle given up; nonce released')
        continue
      }
      // A gap below a submission still live would hold it back: fill the nonce instead.
      try {
        const hash = await deps.fillNonce(entry, header)
        entry.cancelHash = hash
        entry.cancelling = true
        entry.hashes.push(hash)
        metrics.submissions.inc({ kind: 'nonce-fill' })
        log.info({ account, nonce: entry.nonce, hash }, 'bundle given up below a later one; its nonce filled')
      } catch (error) {
        metrics.rpcErrors.inc({ stage: 'nonce-fill' })
        log.warn(
          { account, nonce: entry.nonce, err: errorText(error) },
          'nonce fill refused; retried next head',
        )
      }
    }
    expiredNow.clear()
  }

  return {
    inFlight,
    records,
    async onBlock(header) {
      if (inFlight.size === 0) return
      const mined = await deps.minedNonce()
      for (const [key, entry] of inFlight) {
        // Still being signed and sent: nothing to track yet.
        if (entry.hashes.length === 0) continue
        const state = await settle(key, entry, header)
        if (state !== 'open') continue
        if (mined !== undefined && mined > entry.nonce) {
          // Every hash read cleanly and none landed, yet the nonce is used: dropped or replaced elsewhere.
          inFlight.delete(key)
          metrics.lost.inc()
          log.warn(
            { account: entry.opportunity.account, nonce: entry.nonce },
            'transaction dropped; nonce consumed elsewhere',
          )
          await deps.resyncNonce()
          continue
        }
        if (entry.lane.private) await followPrivate(key, entry, header)
        else await replaceIfStuck(entry, header)
      }
      if (expiredNow.size > 0) await giveUp(header)
    },
  }
}
