/**
 * The in-flight tracker with a scripted node: a receipt read that fails is not "no receipt", so a
 * landed liquidation is booked once the read succeeds, never counted as lost; a cleanly missing
 * receipt with the nonce used elsewhere is lost.
 */
import { type Hex, type PublicClient, TransactionReceiptNotFoundError } from 'viem'
import { describe, expect, it } from 'vitest'
import { createTracker, type InFlight } from '../../../src/executor/tracker.js'
import { createLogger } from '../../../src/logger.js'
import { createMetrics } from '../../../src/metrics.js'
import type { LiquidationEvent, Strategy } from '../../../src/types.js'
import { header, opportunity } from '../../support/fakes.js'

const HASH = `0x${'aa'.repeat(32)}` as Hex
const ACCOUNT = '0x00000000000000000000000000000000000000b1'
const FILL_HASH = `0x${'bb'.repeat(32)}` as Hex

function setup(
  receipts: (() => unknown)[],
  mined: number,
  privateLane?: {
    submits: { headNumber: bigint }[]
    released: number[]
    filled: number[]
    profitable: () => boolean
    resigned?: bigint[]
  },
) {
  let reads = 0
  const client = {
    async getTransactionReceipt() {
      const next = receipts[Math.min(reads++, receipts.length - 1)] as () => unknown
      return next()
    },
  } as unknown as PublicClient
  const event: LiquidationEvent = {
    account: ACCOUNT,
    liquidator: '0x00000000000000000000000000000000000000cc',
    txHash: HASH,
    blockNumber: 5n,
    valueBase: 100n,
    summary: 'x',
    details: {},
  }
  const strategy = {
    liquidationsIn: () => [event],
    agrees: () => true,
    nativePriceBase: () => 10n ** 8n,
  } as unknown as Strategy
  const metrics = createMetrics()
  const tracker = createTracker({
    client,
    strategy,
    log: createLogger('silent'),
    metrics,
    now: () => 0,
    replaceAfterBlocks: 100,
    maxFeePerGasWei: 10n ** 12n,
    resend: async () => HASH,
    minedNonce: async () => mined,
    resyncNonce: async () => undefined,
    releaseNonce: (n) => privateLane?.released.push(n),
    resign: async (_e, bid) => {
      privateLane?.resigned?.push(bid.maxFeePerGas)
      return `0x02${bid.maxFeePerGas.toString(16).padStart(64, '0')}` as Hex
    },
    fillNonce: async (e) => {
      privateLane?.filled.push(e.nonce)
      return FILL_HASH
    },
    stillProfitable: async () => privateLane?.profitable() ?? true,
  })
  const entry: InFlight = {
    opportunity: opportunity(ACCOUNT, 100n),
    nonce: 7,
    gasLimit: 500_000n,
    bid: { maxFeePerGas: 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n },
    hashes: [HASH],
    sentBlock: 4n,
    submittedAt: 0,
    budgetBase: 100n,
    costBase: 0n,
    lane: privateLane
      ? {
          name: 'bundle',
          private: true,
          targetBlocks: 2,
          submit: async (_signed, context) => {
            privateLane.submits.push({ headNumber: context.headNumber })
            return HASH
          },
        }
      : { name: 'public', private: false, targetBlocks: 0, submit: async () => HASH },
    ...(privateLane ? { signed: '0x02' as Hex, lastTarget: 6n } : {}),
  }
  tracker.inFlight.set(ACCOUNT, entry)
  return { tracker, metrics }
}

/** What a scripted private lane was asked to do. */
const recorder = (profitable: () => boolean) => ({
  submits: [] as { headNumber: bigint }[],
  released: [] as number[],
  filled: [] as number[],
  resigned: [] as bigint[],
  profitable,
})

const receipt = {
  status: 'success',
  blockNumber: 5n,
  gasUsed: 400_000n,
  effectiveGasPrice: 10n ** 9n,
  logs: [],
}
const total = async (counter: { get(): Promise<{ values: { value: number }[] }> }) =>
  (await counter.get()).values.reduce((n, v) => n + v.value, 0)

describe('tracker', () => {
  it('a receipt read that fails once still books the inclusion, never a loss', async () => {
    const { tracker, metrics } = setup(
      [
        () => {
          throw new Error('HTTP request failed. Status: 502')
        },
        () => receipt,
      ],
      8, // the nonce is consumed: by our own transaction
    )
    await tracker.onBlock(header(5))
    expect(tracker.inFlight.size).toBe(1)
    expect(await total(metrics.lost)).toBe(0)
    await tracker.onBlock(header(6))
    expect(tracker.inFlight.size).toBe(0)
    expect(tracker.records.map((r) => r.hash)).toEqual([HASH])
    expect(await total(metrics.lost)).toBe(0)
    expect(await total(metrics.inclusions)).toBe(1)
  })

  it('no receipt, read cleanly, with the nonce used elsewhere: lost', async () => {
    const notFound = () => {
      throw new TransactionReceiptNotFoundError({ hash: HASH })
    }
    const { tracker, metrics } = setup([notFound], 8)
    await tracker.onBlock(header(5))
    expect(tracker.inFlight.size).toBe(0)
    expect(tracker.records).toEqual([])
    expect(await total(metrics.lost)).toBe(1)
  })

  it('a bundle not included is resent each block while profitable, then left to expire and its nonce released', async () => {
    const notFound = () => {
      throw new TransactionReceiptNotFoundError({ hash: HASH })
    }
    let profitable = true
    const lane = recorder(() => profitable)
    // Mined nonce count 7: our nonce 7 is not used by anything.
    const { tracker, metrics } = setup([notFound], 7, lane)
    await tracker.onBlock(header(5))
    await tracker.onBlock(header(6))
    expect(lane.submits.map((s) => s.headNumber)).toEqual([5n, 6n])
    expect(tracker.inFlight.get(ACCOUNT)?.lastTarget).toBe(8n)
    profitable = false
    await tracker.onBlock(header(7))
    expect(lane.submits).toHaveLength(2)
    // Still live at builders until block 8 has passed: the nonce is held until then.
    expect(tracker.inFlight.size).toBe(1)
    expect(lane.released).toEqual([])
    await tracker.onBlock(header(8))
    expect(tracker.inFlight.size).toBe(0)
    expect(lane.released).toEqual([7])
    expect(lane.submits).toHaveLength(2)
    expect(await total(metrics.bundlesDropped)).toBe(1)
    expect(await total(metrics.lost)).toBe(0)
  })

  it('a bundle given up below a later one in flight has its nonce filled, not released (a gap would hold the later one)', async () => {
    const notFound = () => {
      throw new TransactionReceiptNotFoundError({ hash: HASH })
    }
    const lane = recorder(() => false)
    const { tracker } = setup([notFound], 7, lane)
    const first = tracker.inFlight.get(ACCOUNT) as InFlight
    // A later liquidation holds nonce 8 (it stays worth sending: it is not the one withdrawn).
    const { withdrawn: _none, ...alive } = first
    tracker.inFlight.set('later', { ...alive, nonce: 8, lastTarget: 100n })
    first.withdrawn = 'withdrawn'
    await tracker.onBlock(header(6))
    expect(lane.filled).toEqual([7])
    expect(lane.released).toEqual([])
    expect(first.cancelHash).toBe(FILL_HASH)
    // Not filled twice while the filler is pending.
    await tracker.onBlock(header(7))
    expect(lane.filled).toEqual([7])
  })

  it('bundles given up together are all released, from the top down, none filled', async () => {
    const notFound = () => {
      throw new TransactionReceiptNotFoundError({ hash: HASH })
    }
    const lane = recorder(() => false)
    const { tracker } = setup([notFound], 7, lane)
    const first = tracker.inFlight.get(ACCOUNT) as InFlight
    tracker.inFlight.set('later', { ...first, nonce: 8 })
    await tracker.onBlock(header(5))
    expect(tracker.inFlight.size).toBe(2)
    await tracker.onBlock(header(6))
    expect(lane.filled).toEqual([])
    expect(lane.released.sort()).toEqual([7, 8])
    expect(tracker.inFlight.size).toBe(0)
  })

  it('a bundle whose fee cap the base fee passed is re-signed at the same nonce, within its budget, and resent', async () => {
    const notFound = () => {
      throw new TransactionReceiptNotFoundError({ hash: HASH })
    }
    const lane = recorder(() => true)
    const { tracker } = setup([notFound], 7, lane)
    const entry = tracker.inFlight.get(ACCOUNT) as InFlight
    // Over budget (the worst case would eat the profit): left as it is.
    const high = { ...header(5), baseFeePerGas: 3n * 10n ** 9n }
    await tracker.onBlock(high)
    expect(lane.resigned).toEqual([])
    entry.budgetBase = 10n ** 12n
    await tracker.onBlock({ ...high, number: 6n })
    expect(lane.resigned).toEqual([7n * 10n ** 9n])
    expect(entry.nonce).toBe(7)
    expect(entry.bid.maxFeePerGas).toBe(7n * 10n ** 9n)
    expect(entry.hashes).toHaveLength(2)
    expect(lane.submits.map((s) => s.headNumber)).toEqual([5n, 6n])
  })
})
