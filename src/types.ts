/**
 * The protocol-agnostic vocabulary between the chain follower, the engine, strategies and executors.
 * Nothing here knows a protocol: an opportunity is a call with a dedupe key, an expected profit and
 * the reads that measure that profit in simulation; a strategy is a mirror that follows logs.
 */
import type { Abi, Address, Hex } from 'viem'
import type { ChainLog } from './chain/types.js'

export interface BlockRef {
  number: bigint
  hash: Hex
  timestamp: bigint
}

export interface BlockHeader extends BlockRef {
  parentHash: Hex
  baseFeePerGas: bigint | null
}

export interface PendingTx {
  hash: Hex
  from: Address
  to: Address | null
  input: Hex
  nonce: number
  maxFeePerGas: bigint | null
  maxPriorityFeePerGas: bigint | null
  gasPrice: bigint | null
  /** ms timestamp when the collector received it. */
  seenAt: number
}

/** A price known before it lands: decoded from a pending oracle transaction. */
export interface PredictedPrice {
  /** Keys as the strategy's price map uses them (lowercase addresses or feed ids). */
  prices: Map<string, bigint>
  /** The last oracle transaction; a backrun copies its fees so it is ordered right after it. */
  tx: PendingTx
  /** Earlier pending oracle transactions whose prices are included too, in arrival order. */
  preceding?: PendingTx[]
}

/**
 * One read the simulation evaluates right before and right after the call, in the same
 * eth_simulateV1 block: an ERC-20 balance of the liquidator, or any view (margin credited inside
 * a protocol). `valueBase` turns the difference (after − before) into the strategy's base units at
 * the prices the opportunity was planned at; the profit is the sum over all probes.
 */
export interface ProfitProbe {
  label: string
  to: Address
  /** Calldata for a given liquidator; the simulation calls it from that address. */
  calldata(liquidator: Address): Hex
  /** Decode the 32-byte result as int256 rather than uint256. */
  signed?: boolean
  valueBase(delta: bigint): bigint
}

/** The transaction an opportunity sends. */
export interface OpportunityCall {
  to: Address
  data: Hex
  value: bigint
  /** Custom errors the target may revert with, so a refusal names them ("ProfitBelowMinimum(…)"). */
  errors?: Abi
}

/**
 * An alternative execution of an opportunity: a contract call that itself enforces a minimum
 * profit (it reverts below it), so what simulation accepted cannot land at a loss.
 */
export interface ExecutionRoute {
  /** For logs and metrics: "flash". */
  name: string
  /**
   * The call from `sender` that reverts unless it nets at least `minProfitBase` (base units);
   * undefined when this sender cannot use the route (not the contract's owner).
   */
  call(sender: Address, minProfitBase: bigint): OpportunityCall | undefined
  /** The reads that measure its profit in simulation. */
  probes: readonly ProfitProbe[]
  gasEstimate: bigint
}

/** Values a strategy puts in an opportunity's or a result's details: printable, JSON-safe via encodeState. */
export type DetailValue = string | number | boolean | bigint
export type Details = Readonly<Record<string, DetailValue>>

export interface Opportunity<D extends Details = Details> {
  /** What may have only one transaction in flight: an account, or an account and a position. */
  key: string
  account: Address
  strategy: string
  call: OpportunityCall
  /** Expected profit before gas, in the strategy's base units (USD × 10^baseDecimals). */
  profitBase: bigint
  /** profitBase minus the expected gas cost at the ranking gas price. */
  netProfitBase: bigint
  gasEstimate: bigint
  /** The reads that measure this call's profit in simulation. */
  probes: readonly ProfitProbe[]
  /**
   * The same reads valued at other prices: those a later pending oracle update predicts. A backrun
   * sent before that update lands before it, at the old prices, and what it took is then worth the
   * new ones (seized collateral whose fall is already in the mempool); its simulated deltas are
   * valued again with these. Undefined where the profit does not move with predicted prices.
   */
  probesAt?(predicted: ReadonlyMap<string, bigint>, timestamp: bigint): readonly ProfitProbe[]
  /** The pending oracle transaction this must land right after (a backrun), if any. */
  dependsOn?: PendingTx
  /** Earlier pending oracle transactions the simulation must apply first. */
  precededBy?: PendingTx[]
  /** The prices those transactions set. */
  predictedPrices?: Map<string, bigint>
  /** A pull-oracle update the call carries (already inside `call.data`), and the fee it pays. */
  priceUpdate?: { updateData: Hex[]; feeWei: bigint }
  /**
   * Other ways to execute the same liquidation (a flash loan instead of inventory): the executor
   * simulates each beside `call` and sends whichever nets the most.
   */
  routes?: readonly ExecutionRoute[]
  /** Protocol amounts and names, exact, for logs, reports and agreement checks. */
  details: D
  /** Timestamp the amounts were computed for. */
  atTimestamp: bigint
  blockNumber: bigint
  detectedAt: number
}

/** A liquidation read back from logs (ours from a receipt, or anyone's in a backtest). */
export interface LiquidationEvent<D extends Details = Details> {
  account: Address
  liquidator: Address
  txHash: Hex
  blockNumber: bigint
  /** What the liquidator gained minus what it paid, at the strategy's current prices (base units). */
  valueBase: bigint
  /** One line for people: "1,000 DAI → 0.6 WETH". */
  summary: string
  details: D
}

export interface SyncResult {
  /** Accounts whose health may have changed (positions changed or prices moved). */
  changedAccounts: number
  /** Liquidations (anyone's) in the blocks just applied near the head: what winners paid is learned. */
  liquidations?: LiquidationEvent[]
  reorgedTo?: bigint
  rebuilt?: boolean
}

/** The logs a strategy follows: these contracts, these event topics. */
export interface LogFilter {
  addresses: Address[]
  events: Hex[]
}

/** One block's followed logs, in log order. */
export interface BlockLogs {
  number: bigint
  timestamp: bigint
  logs: ChainLog[]
}

export interface VerifyResult {
  blockNumber: bigint
  checked: number
  mismatches: { account: string; field: string; mirror: string; chain: string }[]
}

export interface AccountTable {
  headers: string[]
  /** true: right-aligned (numbers). */
  align: boolean[]
  rows: string[][]
  /** One JSON-ready object per account, in the same order. */
  json: unknown[]
  footer: string
}

/** One feed's price from an off-chain stream (a pull oracle such as Pyth's Hermes). */
export interface StreamedFeed {
  /** Lowercase 0x feed id. */
  id: string
  price: bigint
  expo: number
  publishTime: bigint
}

/** Off-chain prices and the signed update a call must carry to land them. */
export interface StreamedPrices {
  feeds: StreamedFeed[]
  /** The update payload (one blob per feed or batch), as the oracle contract takes it. */
  updateData: Hex[]
  /** ms timestamp when the stream delivered it. */
  receivedAt: number
}

export interface PlanParams {
  timestamp: bigint
  predicted?: PredictedPrice
  /** The latest streamed prices: plan at them, carrying their update in the call. */
  streamed?: StreamedPrices
  gasPriceWei: bigint
  now?: () => number
}

/**
 * A running strategy: a mirror of one protocol deployment. The chain follower (src/chain) owns
 * log fetching, gaps and reorgs and hands it blocks; everything else is a pure function of its state.
 */
export interface Strategy {
  readonly name: string
  /** The base unit is USD × 10^baseDecimals (Aave: 8, WAD protocols: 18). */
  readonly baseDecimals: number
  readonly head: BlockRef
  /** The logs the mirror follows now (may grow after a block: new reserves, new price sources). */
  logFilter(): LogFilter
  /**
   * Applies blocks' followed logs in order and moves the head to `head`. It may read the chain when
   * a log asks for it (a new reserve's configuration); it never fetches logs itself.
   */
  advance(blocks: readonly BlockLogs[], head: BlockRef): Promise<SyncResult>
  /** An opaque copy of the state, to roll back to after a reorg. */
  checkpoint(): unknown
  restoreCheckpoint(checkpoint: unknown): void
  /** Rebuilds the mirror from logs up to `head` (a reorg deeper than every checkpoint). */
  rebuild(head: BlockRef): Promise<void>
  /** Pure: profitable-looking opportunities at `timestamp`, best first, optionally at predicted prices. */
  plan(params: PlanParams): Opportunity[]
  /** Pure: a pending transaction decoded as an oracle update, if it is one this strategy follows. */
  decodePendingPrice(tx: PendingTx): PredictedPrice | undefined
  /** Addresses whose pending transactions may move prices (to filter the mempool cheaply). */
  oracleAddresses(): Set<string>
  /** Base-unit value of 1e18 wei of the native gas token. */
  nativePriceBase(): bigint
  /** Liquidations in a list of logs (a receipt's, or a block's). */
  liquidationsIn(logs: readonly ChainLog[]): LiquidationEvent[]
  /** Whether a landed liquidation did exactly what the opportunity predicted. */
  agrees(opportunity: Opportunity, event: LiquidationEvent): boolean
  /** Tokens to approve once for the liquidator (token, spender). */
  approvals(): { token: Address; spender: Address }[]
  isTracked(account: string): boolean
  accountCount(): number
  underwaterCount(timestamp: bigint): number
  /** Health of every account with a position, WAD (1e18 = the liquidation threshold). */
  healthFactors(timestamp: bigint): bigint[]
  /** Every account by health, for `undertow accounts`. */
  accountTable(): AccountTable
  /** The state as a plain value for snapshots and datasets (encodeState-serializable). */
  snapshot(): unknown
  /**
   * The same state as `snapshot()`, for a writer that encodes it a slice at a time between events:
   * the mirror keeps changing meanwhile, so the strategy hands out the state as of now and keeps
   * pre-images of whatever changes until `release()`. Optional: small mirrors are encoded at once.
   */
  snapshotParts?(): SnapshotParts
  /** Compares the mirror with the protocol's own view functions. */
  verify(): Promise<VerifyResult>
  /**
   * The always-on differential check: `include` plus the next `sample` accounts of a rotation
   * against the protocol's own view at the mirror's head, in one batched read. The mirror's side is
   * computed before the first await, so a head arriving meanwhile cannot skew it.
   */
  crossCheck?(params: { include: readonly string[]; sample: number }): Promise<VerifyResult>
  /** Re-reads these accounts (and what their health depends on) from the chain at the mirror's head. */
  resync?(accounts: readonly string[]): Promise<void>
  /** One line naming the deployment, for the startup log and the demo. */
  describe(): string
  /** The off-chain price stream this strategy reads (a pull oracle), if any. */
  priceStream?(): { endpoint: string; feedIds: string[] } | undefined
}

/** A state too large to encode in one go: a small part and one large map, consistent as of one block. */
export interface SnapshotParts {
  /** The state with `largeKey` left out. */
  rest: Record<string, unknown>
  /** The name of the large map in the state (encoded as a Map). */
  largeKey: string
  /** Its entries as of the snapshot; throws if the state was replaced meanwhile (a reorg rollback). */
  entries(): Iterable<[string, unknown]>
  /** Stops keeping pre-images. */
  release(): void
}
