/**
 * Fakes for the core's injection points: a strategy whose plans are scripted, an executor that
 * records what it was asked, and an opportunity builder. They implement the interfaces, nothing
 * more, so engine tests run without a chain.
 */
import type { Address, Hex } from 'viem'
import type { Executor } from '../../src/executor/executor.js'
import type {
  BlockHeader,
  Opportunity,
  PendingTx,
  PlanParams,
  PredictedPrice,
  Strategy,
} from '../../src/types.js'

export function header(n: number, timestamp = 1_000 + n): BlockHeader {
  const hash = (k: number) => `0x${k.toString(16).padStart(64, '0')}` as Hex
  return {
    number: BigInt(n),
    hash: hash(n),
    parentHash: hash(n - 1),
    timestamp: BigInt(timestamp),
    baseFeePerGas: 10n ** 9n,
  }
}

export function pendingTx(n: number, to: Address, seenAt = 0): PendingTx {
  return {
    hash: `0x${(0xabc000 + n).toString(16).padStart(64, '0')}`,
    from: '0x00000000000000000000000000000000000000aa',
    to,
    input: '0x',
    nonce: n,
    maxFeePerGas: 5n * 10n ** 9n,
    maxPriorityFeePerGas: 10n ** 9n,
    gasPrice: null,
    seenAt,
  }
}

export function opportunity(
  key: string,
  netProfitBase: bigint,
  extra: Partial<Opportunity> = {},
): Opportunity {
  return {
    key,
    account: key.slice(0, 42) as Address,
    strategy: 'fake',
    call: { to: '0x00000000000000000000000000000000000000c0', data: '0x', value: 0n },
    profitBase: netProfitBase,
    netProfitBase,
    gasEstimate: 100_000n,
    probes: [],
    details: {},
    atTimestamp: 0n,
    blockNumber: 0n,
    detectedAt: 0,
    ...extra,
  }
}

/** A strategy whose plan() answers from a script: a function of the params, recorded per call. */
export function fakeStrategy(params: {
  plan: (p: PlanParams) => Opportunity[]
  oracle?: Address
  /** Price decoded from a pending tx to `oracle`: its nonce as the price of asset "a{nonce}". */
}) {
  const plans: PlanParams[] = []
  const strategy = {
    name: 'fake',
    baseDecimals: 8,
    head: { number: 0n, hash: '0x', timestamp: 0n },
    plan(p: PlanParams) {
      plans.push(p)
      return params.plan(p)
    },
    decodePendingPrice(tx: PendingTx): PredictedPrice | undefined {
      if (!params.oracle || tx.to?.toLowerCase() !== params.oracle.toLowerCase()) return undefined
      return { prices: new Map([[`a${tx.nonce}`, BigInt(tx.nonce)]]), tx }
    },
    accountCount: () => 0,
  }
  return { strategy: strategy as unknown as Strategy, plans }
}

/**
 * An executor that records executions and cancels. With `gate`, execute waits for it before asking
 * isCurrent (as a real one asks after simulating).
 */
export function fakeExecutor(options: { backruns?: string[]; gate?: Promise<void> } = {}) {
  const executed: { key: string; current: boolean | undefined }[] = []
  const cancelled: string[] = []
  const blocks: bigint[] = []
  const executor: Executor = {
    async prepare() {},
    async execute(opp, _head, isCurrent) {
      if (options.gate) await options.gate
      executed.push({ key: opp.key, current: isCurrent?.() })
      return 'sent'
    },
    async onBlock(h) {
      blocks.push(h.number)
    },
    isBusy: () => false,
    inFlightCount: () => 0,
    inFlightBackruns: () => options.backruns ?? [],
    repriceBackruns: () => undefined,
    async cancel(key) {
      cancelled.push(key)
      return true
    },
    records: [],
    tickToTrade: [],
    address: undefined,
  }
  return { executor, executed, cancelled, blocks }
}

/** One call's result in an eth_simulateV1 answer (a scripted node's reply). */
export function simulatedCall(
  returnData: Hex = '0x',
  gasUsed: Hex = '0x1',
  status: '0x1' | '0x0' = '0x1',
): { status: string; returnData: Hex; gasUsed: Hex; logs: [] } {
  return { status, returnData, gasUsed, logs: [] }
}

/** The eth_simulateV1 answer for one simulated block holding `calls` (the envelope viem parses). */
export function simulatedBlock(calls: ReturnType<typeof simulatedCall>[], gasUsed: Hex = '0x1') {
  return [
    {
      number: '0x1',
      hash: `0x${'00'.repeat(32)}`,
      timestamp: '0x1',
      gasLimit: '0x1c9c380',
      gasUsed,
      baseFeePerGas: '0x1',
      calls,
    },
  ]
}
