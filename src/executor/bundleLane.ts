/**
 * The private lanes: a liquidation as a bundle to every configured builder (`eth_sendBundle`, one
 * per target block), and an oracle backrun either the same way — the pending oracle transaction's
 * signed bytes first, ours right after — or through an order-flow auction (`mev_sendBundle` with
 * the oracle transaction's hash as the first body element), the route Chainlink SVR feeds are
 * liquidated by. A builder that is unreachable or answers errors gets one log line (and one more
 * when it recovers); the others go on, and a send fails only when every builder refused it.
 */
import { type Address, type Hex, keccak256, type PublicClient } from 'viem'
import { errorText } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { PendingTx } from '../types.js'
import type { LaneContext, SubmissionLane } from './publicLane.js'
import type { RelayClient } from './relayClient.js'

export type BackrunRoute = 'bundle' | 'auction'

export interface BundleLaneOptions {
  relays: RelayClient[]
  /** How a backrun reaches the builders. */
  backrun: BackrunRoute
  /** Blocks each submission targets after the head it is sent at. */
  targetBlocks: number
  /** Reads receipts' blocks (their fee recipient credits a builder) and oracle transactions' bytes. */
  client: Pick<PublicClient, 'getBlock' | 'request'>
  log: Logger
  metrics: Metrics
}

export function createBundleLane(options: BundleLaneOptions): SubmissionLane {
  const { relays, log, metrics } = options
  const failing = new Set<string>()
  const checked = new Set<Hex>()
  /** Signed bytes of pending oracle transactions, for bundles that carry them. */
  const rawCache = new Map<Hex, Hex>()

  const rawOf = async (tx: PendingTx): Promise<Hex> => {
    const cached = rawCache.get(tx.hash)
    if (cached) return cached
    const raw = (await options.client.request({
      method: 'eth_getRawTransactionByHash' as never,
      params: [tx.hash] as never,
    })) as Hex | null
    if (!raw) throw new Error(`the pending oracle transaction ${tx.hash} is not known to the node`)
    if (rawCache.size > 256) rawCache.clear()
    rawCache.set(tx.hash, raw)
    return raw
  }

  const outcome = (relay: RelayClient, method: string, error: unknown) => {
    const name = relay.endpoint.name
    metrics.bundleSends.inc({ builder: name, method, result: error ? 'error' : 'accepted' })
    if (error) {
      if (!failing.has(name)) {
        failing.add(name)
        log.warn(
          { builder: name, err: errorText(error) },
          'builder refused a bundle; the other builders go on',
        )
      }
    } else if (failing.delete(name)) log.info({ builder: name }, 'builder accepts bundles again')
  }

  async function toRelay(relay: RelayClient, signed: Hex, context: LaneContext): Promise<void> {
    const opp = context.opportunity
    const first = context.headNumber + 1n
    const last = context.headNumber + BigInt(options.targetBlocks)
    const dependsOn = context.dependencyLanded ? undefined : opp?.dependsOn
    const oracles = dependsOn ? [...(opp?.precededBy ?? []), dependsOn] : []
    if (dependsOn && options.backrun === 'auction') {
      try {
        await relay.mevSendBundle(
          [...oracles.map((tx) => ({ hash: tx.hash })), { tx: signed, canRevert: false }],
          first,
          last,
        )
        outcome(relay, 'mev_sendBundle', undefined)
      } catch (error) {
        outcome(relay, 'mev_sendBundle', error)
        throw error
      }
      return
    }
    const txs = [...(await Promise.all(oracles.map(rawOf))), signed]
    const hash = keccak256(signed)
    // A builder that simulates bundles is asked first, once per transaction: a bundle it says
    // reverts is not sent to it.
    if (relay.endpoint.callBundle && !checked.has(hash)) {
      try {
        const result = await relay.callBundle(txs, first)
        const failed = result.results.find((r) => r.error !== undefined)
        if (failed) throw new Error(`eth_callBundle: ${failed.error} in ${failed.txHash}`)
        checked.add(hash)
        if (checked.size > 1024) checked.clear()
        outcome(relay, 'eth_callBundle', undefined)
      } catch (error) {
        outcome(relay, 'eth_callBundle', error)
        throw error
      }
    }
    const sends: Promise<Hex>[] = []
    for (let block = first; block <= last; block++) sends.push(relay.sendBundle(txs, block))
    const results = await Promise.allSettled(sends)
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    outcome(relay, 'eth_sendBundle', refused?.reason)
    if (refused && results.every((r) => r.status === 'rejected')) throw refused.reason
  }

  return {
    name: options.backrun === 'auction' ? 'auction' : 'bundle',
    private: true,
    targetBlocks: options.targetBlocks,
    async submit(signed, context) {
      const results = await Promise.allSettled(relays.map((relay) => toRelay(relay, signed, context)))
      if (results.every((r) => r.status === 'rejected'))
        throw new Error(
          `no builder accepted the bundle (${results.map((r) => errorText((r as PromiseRejectedResult).reason)).join('; ')})`,
        )
      return keccak256(signed)
    },
    async included(blockNumber) {
      let builder = 'unknown'
      try {
        const block = await options.client.getBlock({ blockNumber })
        const miner = block.miner.toLowerCase() as Address
        builder =
          relays.find((r) => r.endpoint.feeRecipient?.toLowerCase() === miner)?.endpoint.name ?? 'unknown'
      } catch (error) {
        log.debug({ err: errorText(error) }, 'block of an included bundle not read')
      }
      metrics.bundleInclusions.inc({ builder })
    },
  }
}
