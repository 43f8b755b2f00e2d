/**
 * The protocol-agnostic vocabulary between collectors, the engine, strategies and executors.
 */
import type { Address, Hex } from 'viem'

export interface BlockHeader {
  number: bigint
  hash: Hex
  parentHash: Hex
  timestamp: bigint
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
  /** Lowercase keys as the strategy's price map uses them. */
  prices: Map<string, bigint>
  /** The last oracle transaction; a backrun copies its fees so it is ordered right after it. */
  tx: PendingTx
  /** Earlier pending oracle transactions whose prices are included too, in arrival order. */
  preceding?: PendingTx[]
}

export interface Opportunity {
  /** One entry per account in the queue. */
  account: Address
  strategy: string
  /** Protocol amounts, exact. */
  repayAsset: Address
  repayAmount: bigint
  receiveAsset: Address
  receiveAmount: bigint
  /** Value received minus value repaid, base currency units (USD × 1e8 on Aave). */
  bonusBase: bigint
  /** bonusBase minus the expected gas cost. */
  netProfitBase: bigint
  gasEstimate: bigint
  call: { to: Address; data: Hex }
  /** The pending transaction this opportunity needs to land first (a backrun), if any. */
  dependsOn?: PendingTx
  /** The prices that transaction will set (lowercase asset → price). */
  predictedPrices?: Map<string, bigint>
  /** Earlier pending oracle transactions the simulation must apply first. */
  precededBy?: PendingTx[]
  /** Timestamp the amounts were computed for. */
  atTimestamp: bigint
  blockNumber: bigint
  detectedAt: number
}

export interface ExecutionResult {
  account: Address
  repayAsset: Address
  repaid: bigint
  receiveAsset: Address
  received: bigint
}

export interface SyncResult {
  /** Accounts whose health may have changed (positions changed or prices moved). */
  changedAccounts: number
  reorgedTo?: bigint
  rebuilt?: boolean
}

export interface Strategy {
  readonly name: string
  readonly head: { number: bigint; hash: Hex; timestamp: bigint }
  /** Brings the mirror to `header` (logs, reorgs, gaps); returns what changed. */
  sync(header: BlockHeader): Promise<SyncResult>
  /** Pure: profitable-looking opportunities at `timestamp`, best first, optionally at predicted prices. */
  plan(params: { timestamp: bigint; predicted?: PredictedPrice; gasPriceWei: bigint }): Opportunity[]
  /** Pure: a pending transaction decoded as an oracle update, if it is one this strategy follows. */
  decodePendingPrice(tx: PendingTx): PredictedPrice | undefined
  /** Addresses whose pending transactions may move prices (to filter the mempool cheaply). */
  oracleAddresses(): Set<string>
  /** Base-currency value of 1e18 wei of the native token. */
  nativePriceBase(): bigint
  /** Base-currency value of `amount` of `asset` at current (or predicted) prices. */
  valueBase(asset: Address, amount: bigint, predicted?: PredictedPrice): bigint
  /** Decodes what a landed liquidation transaction did, from its receipt logs. */
  decodeExecution(
    logs: readonly { address: Address; topics: Hex[]; data: Hex }[],
  ): ExecutionResult | undefined
  /** Tokens to approve once for the executor (debt assets, spender). */
  approvals(): { token: Address; spender: Address }[]
  accountCount(): number
  underwaterCount(timestamp: bigint): number
  snapshot(): unknown
  verify(): Promise<{ checked: number; mismatches: number }>
}
