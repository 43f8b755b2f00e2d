/**
 * The private lanes: a liquidation as a bundle to every configured builder (`eth_sendBundle`, one
 * per target block), and an oracle backrun either the same way — the pending oracle transaction's
 * signed bytes first, ours right after — or through an order-flow auction (`mev_sendBundle` with
 * the oracle transaction's hash as the first body element), the route Chainlink SVR feeds are
 * liquidated by. A builder that is unreachable or answers errors gets one log line (and one more
 * when it recovers); the others go on, and a send fails only when every builder refused it.
 */
import { type Address, concat, type Hex, keccak256, type PublicClient, parseTransaction } from 'viem'
import { errorText } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { PendingTx } from '../types.js'
import type { SubmissionLane } from './publicLane.js'
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

  /** What one submission carries: pending oracle transactions (first, in order), then ours. */
  interface Shape {
    oracles: PendingTx[]
    ours: Hex[]
  }

  async function toRelay(relay: RelayClient, shape: Shape, headNumber: bigint): Promise<void> {
    const first = headNumber + 1n
    const last = headNumber + BigInt(options.targetBlocks)
    if (shape.oracles.length > 0 && options.backrun === 'auction') {
      try {
        await relay.mevSendBundle(
          [
            ...shape.oracles.map((tx) => ({ hash: tx.hash })),
            ...shape.ours.map((tx) => ({ tx, canRevert: false })),
          ],
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
    const txs = [...(await Promise.all(shape.oracles.map(rawOf))), ...shape.ours]
    const hash = keccak256(concat(shape.ours))
    // A builder that simulates bundles is asked first, once per bundle: one it says reverts is
    // not sent to it.
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

  /**
   * Every backrun sent at one head, together: the pending oracle transactions once, in the order
   * they were seen, then all our liquidations in nonce order. A builder takes one bundle per
   * pending transaction, and ours hold consecutive nonces, so apart only the first of them could
   * land right after the update; together they all do. Each is also sent on its own.
   *
   * The group is offered by one send at a time: backruns signed while it is on its way join the
   * next send, which carries them all. (Resending the grown group on every submit cost n sends of
   * up to n transactions each — a 14-backrun batch reached the builder a block late.)
   */
  interface Group {
    oracles: PendingTx[]
    /** By sender and nonce: a transaction signed again at its nonce replaces itself. */
    ours: Map<string, { nonce: number; signed: Hex }>
    sending?: Promise<void> | undefined
    grown: boolean
  }
  const groups = new Map<bigint, Group>()
  function join(
    oracles: PendingTx[],
    signed: Hex,
    headNumber: bigint,
    sender: Address | undefined,
  ): Group | undefined {
    for (const head of groups.keys()) if (head !== headNumber) groups.delete(head)
    let group = groups.get(headNumber)
    if (!group) {
      group = { oracles: [], ours: new Map(), grown: false }
      groups.set(headNumber, group)
    }
    for (const tx of oracles) if (!group.oracles.some((o) => o.hash === tx.hash)) group.oracles.push(tx)
    let nonce: number
    try {
      nonce = parseTransaction(signed).nonce ?? 0
    } catch {
      return undefined
    }
    group.ours.set(`${sender?.toLowerCase() ?? ''}:${nonce}`, { nonce, signed })
    return group.ours.size < 2 ? undefined : group
  }
  const shapeOf = (group: Group): Shape => ({
    oracles: [...group.oracles],
    // Each wallet's transactions in nonce order (a stable sort keeps one nonce's wallets as they came).
    ours: [...group.ours.values()].sort((a, b) => a.nonce - b.nonce).map((tx) => tx.signed),
  })
  /** Resolves once a send carrying everything joined so far has been answered. */
  function offer(group: Group, headNumber: bigint): Promise<void> {
    if (group.sending) {
      group.grown = true
      return group.sending
    }
    group.sending = (async () => {
      do {
        group.grown = false
        // The combined bundle is a better offer, not a condition: its failure costs nothing here.
        await toAll(shapeOf(group), headNumber).catch(() => undefined)
      } while (group.grown)
      group.sending = undefined
    })()
    return group.sending
  }

  const toAll = async (shape: Shape, headNumber: bigint) => {
    const results = await Promise.allSettled(relays.map((relay) => toRelay(relay, shape, headNumber)))
    if (results.every((r) => r.status === 'rejected'))
      throw new Error(
        `no builder accepted the bundle (${results.map((r) => errorText((r as PromiseRejectedResult).reason)).join('; ')})`,
      )
  }

  return {
    name: options.backrun === 'auction' ? 'auction' : 'bundle',
    private: true,
    targetBlocks: options.targetBlocks,
    async submit(signed, context) {
      const opp = context.opportunity
      const dependsOn = context.dependencyLanded ? undefined : opp?.dependsOn
      const oracles = dependsOn ? [...(opp?.precededBy ?? []), dependsOn] : []
      const group = oracles.length > 0 ? join(oracles, signed, context.headNumber, context.sender) : undefined
      const alone = toAll({ oracles, ours: [signed] }, context.headNumber)
      if (group) await offer(group, context.headNumber)
      await alone
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
