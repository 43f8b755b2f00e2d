/**
 * The contract between the core and a protocol's folder under strategies/. A module declares its
 * config section and target flags, resolves them into its options, builds the running Strategy,
 * and optionally hosts a devnet deployment, fork preparation for backtests and extra commands.
 * The registry (strategies/index.ts) is the only file that lists modules.
 */
import type { Command } from 'commander'
import type { Address, Hex, LocalAccount, PublicClient } from 'viem'
import type { z } from 'zod'
import type { DevnetInfo } from './devnet/devnetFile.js'
import type { Logger } from './logger.js'
import type { Opportunity, Strategy } from './types.js'

/** A command-line flag a strategy adds to the target flags of run, accounts, record and backtest. */
export interface StrategyFlag {
  /** Commander syntax, e.g. '--market <name>'. */
  flags: string
  description: string
  /** The key its value is passed under (commander's camel-cased name). */
  name: string
  parse?: (value: string) => unknown
}

export interface ResolveTargetInput {
  /** The strategy's `market` section of the config file, validated by `marketSchema`. */
  section: unknown
  /** Values of the strategy's own flags that were given, by `name`. */
  flags: Record<string, unknown>
  /** A devnet file named by --devnet ('flag', ranks above the file) or by the config ('file'). */
  devnet?: { info: DevnetInfo; rank: 'flag' | 'file' } | undefined
  /** The chain id set by a flag or the file, if any (a preset's chain must agree). */
  chainId: number | undefined
  /** --from-block, if given. */
  fromBlock: bigint | undefined
}

export interface ResolvedTarget<O> {
  options: O
  /** A chain id the target implies (a named market preset); the node must be on it. */
  chainId?: number | undefined
  /** Identifies the deployment: snapshots and datasets of another one are not reused. */
  id: string
  /** First block to index positions from. */
  fromBlock: bigint
}

export interface StrategyContext {
  /** Absent in offline replays (a dataset needs no node); a strategy that must read then fails. */
  client?: PublicClient | undefined
  log: Logger
  /** The address liquidations are sent from (the signer's), when there is one. */
  sender?: Address | undefined
}

export interface StrategyStart {
  /** First block to index positions from when building from logs. */
  fromBlock: bigint
  /** Build the mirror at this block instead of the node's latest. */
  toBlock?: bigint | undefined
  /** A state from `snapshot()` (a snapshot file or a dataset), to resume instead of building. */
  restored?: unknown
}

/** One option of `undertow devnet` that only this protocol's deployment understands. */
export interface DevnetOption {
  flags: string
  description: string
  name: string
  choices?: readonly string[]
  default?: string
}

export interface DevnetDeployment {
  addresses: Record<string, unknown>
  accounts: Address[]
  /** One line: what was deployed ("Aave 3.6 pool 0x…"). */
  summary: string
  /** Extra top-level devnet file fields (a price service URL). */
  extra?: { priceServiceUrl?: string }
  /** In-process services the devnet runs for this protocol (tests and the demo reach them here). */
  services?: Record<string, unknown>
  /** Stops those services (before anvil stops). */
  stop?(): Promise<void>
}

/** How the devnet hosts this protocol: deploy and seed, move a price, fund a liquidator. */
export interface DevnetProvider {
  options: readonly DevnetOption[]
  deploy(
    client: PublicClient,
    params: { accounts: number; seed: number; options: Record<string, string> },
  ): Promise<DevnetDeployment>
  /**
   * Moves a price: with a mined transaction (push oracles), or off-chain in the price service (pull
   * oracles; `push` also lands it). Returns the block (if one was mined) and the price read back.
   */
  setPrice(
    client: PublicClient,
    info: DevnetInfo,
    symbol: string,
    price: string,
    options?: { push?: boolean },
  ): Promise<{ blockNumber: bigint | undefined; readBack: string }>
  /** The unsent oracle transaction that would move a price (the demo sends it to the mempool). */
  priceUpdateTx(
    info: DevnetInfo,
    symbol: string,
    price: string,
  ): { from: Address; to: Address; data: Hex; value?: bigint }
  /** Gives an address gas and inventory; returns what it was given. */
  fund(client: PublicClient, info: DevnetInfo, address: Address): Promise<string>
  /** The price shock the demo sends, as (symbol, price) pairs. */
  demoShock: readonly (readonly [string, string])[]
  /**
   * How the demo delivers it: 'mempool' (pending oracle transactions, the default) or 'offchain'
   * (a pull oracle's price service moves first; the pusher lands it later).
   */
  demoShockVia?: 'mempool' | 'offchain'
}

export interface BacktestHooks {
  /** Gives a fresh liquidator on a fork what `opportunity.call` needs (inventory, approvals). */
  prepareFork(
    client: PublicClient,
    strategy: Strategy,
    opportunity: Opportunity,
    liquidator: Address,
  ): Promise<void>
}

export interface StrategyModule<O = unknown> {
  readonly name: string
  readonly description: string
  /** Schema of the config file's `market` section for this strategy (strict: unknown keys fail). */
  readonly marketSchema: z.ZodType
  readonly flags: readonly StrategyFlag[]
  resolveTarget(input: ResolveTargetInput): ResolvedTarget<O>
  create(context: StrategyContext, options: O, start: StrategyStart): Promise<Strategy>
  readonly devnet?: DevnetProvider
  readonly backtest?: BacktestHooks
  /** The protocol's executor contract (flash liquidations), deployed by `undertow deploy-executor`. */
  readonly executorContract?: ExecutorContract<O>
  /** Commands only this protocol has (e.g. listing its known deployments). */
  registerCommands?(program: Command): void
}

export interface ExecutorContract<O> {
  /** One line for help: what it does. */
  readonly description: string
  /** The config key (under `market`) and flag that name the deployed contract. */
  readonly configKey: string
  readonly flag: string
  /** Deploys one owned by `account` for the target; returns its address and the deployment's hash. */
  deploy(
    client: PublicClient,
    account: LocalAccount,
    chainId: number,
    options: O,
  ): Promise<{ address: Address; hash: Hex }>
}

/** The list of strategies (built in strategies/index.ts and handed to the core by the CLI). */
export interface StrategyRegistry {
  readonly modules: readonly StrategyModule<unknown>[]
  /** The strategy used when none is named (by flag, config or devnet file). */
  readonly defaultName: string
  /** The module called `name`, or a one-line UsageError listing the known ones. */
  find(name: string, what?: 'strategy' | 'protocol'): StrategyModule<unknown>
}

/**
 * Erases a module's option type for the registry. Safe because the core only ever passes a module
 * the options its own resolveTarget returned.
 */
export function registerable<O>(module: StrategyModule<O>): StrategyModule<unknown> {
  return module as unknown as StrategyModule<unknown>
}
