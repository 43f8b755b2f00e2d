/**
 * The running Aave v3 strategy: the mirror (built from logs or restored from a snapshot) behind the
 * core's Strategy interface. The core's chain follower hands it blocks of logs; everything else is a
 * pure function of the mirror. IO here: building/rebuilding from logs, reloading the configuration
 * when a log asks for it, and verification against the Pool.
 */
import { type Address, getAbiItem, getAddress, type Hex, type PublicClient, parseEventLogs } from 'viem'
import type { ChainLog } from '../../src/chain/types.js'
import { CorruptStateError, FatalError, UsageError } from '../../src/errors.js'
import { formatHealthFactor, formatUnitsFixed } from '../../src/format.js'
import type { Logger } from '../../src/logger.js'
import type { LiquidationEvent, Opportunity, PredictedPrice, Strategy } from '../../src/types.js'
import { poolAbi } from './abi.js'
import { accountReports } from './accountReport.js'
import { createBlockPlanner } from './blockPlanner.js'
import { applyBlocks, buildMirror, followedEvents, watchedAddresses } from './buildMirror.js'
import { exposedAccounts, holdersOf } from './exposure.js'
import { type FlashSetup, flashRoute, loadFlashSetup } from './flashLiquidator.js'
import type { MarketAddresses } from './loadMarket.js'
import { createMarketView, marketRules, userAccountData } from './math.js'
import { decodeOracleAnswer } from './oracleDecode.js'
import {
  type AaveLiquidationDetails,
  type AaveOpportunity,
  nativePrice,
  planLiquidations,
  STRATEGY_NAME,
  valueAt,
} from './plan.js'
import { FloatBalances } from './prefilter.js'
import { adapterFeedAddresses, feedKeysFor } from './priceSources.js'
import { resyncAccounts } from './resync.js'
import type { AccountPosition, MarketState } from './state.js'
import { parseMarketState } from './stateSchema.js'
import { buildSlice, startTriggerIndex, type TriggerIndex, updateTriggerIndex } from './triggerIndex.js'
import { verifyMirror } from './verifyMirror.js'

const FOLLOWED_EVENTS = followedEvents()
/** The one event liquidationsIn decodes (viem hashes every event of the ABI it is given, per call). */
const liquidationCallAbi = [getAbiItem({ abi: poolAbi, name: 'LiquidationCall' })]

const printableMismatch = (m: { account: string; field: string; mirror: bigint; chain: bigint }) => ({
  account: m.account,
  field: m.field,
  mirror: m.mirror.toString(),
  chain: m.chain.toString(),
})

export interface AaveOptions extends MarketAddresses {
  fromBlock: bigint
  /** Flash liquidations: our contract and where its swap pools are found. */
  flash?:
    | { contract: Address; uniswapV3Factory: Address; feeTiers?: readonly number[] | undefined }
    | undefined
}

/** What `liquidationsIn` reports for a LiquidationCall. */
export type AaveLiquidationEventDetails = {
  collateralAsset: `0x${string}`
  debtAsset: `0x${string}`
  debtToCover: bigint
  liquidatedCollateral: bigint
  receiveAToken: boolean
}

export interface AaveStrategy extends Strategy {
  market(): MarketState
}

/** A snapshot or dataset state is trusted only once it matches the schema (files can be edited or truncated). */
function checkRestored(state: unknown): MarketState {
  const parsed = parseMarketState(state)
  if ('error' in parsed)
    throw new CorruptStateError(
      `the saved Aave mirror does not match its schema at ${parsed.error} (corrupt snapshot or dataset)`,
    )
  return parsed.state
}

/**
 * Gas is valued at the configured wrapped native token even when the snapshot was written with
 * another: a reserve's price is mirrored already; any other token's price is not in the snapshot and
 * cannot be read offline, so the restore is refused (a FatalError: the daemon rebuilds from logs),
 * unless the snapshot valued gas at nothing.
 */
function adoptWrappedNative(market: MarketState, wrappedNative: Address | undefined): void {
  const wanted = wrappedNative?.toLowerCase()
  if (!wanted || wanted === market.nativeAsset) return
  if (!market.prices.has(wanted)) {
    // A snapshot that valued gas at nothing stays so (its build could not price a token either);
    // refusing it would rebuild from logs at every restart.
    if (market.nativeAsset === undefined) return
    throw new FatalError(
      `the snapshot values gas at ${market.nativeAsset}, the configured wrapped native token ${wrappedNative} has no price in it`,
    )
  }
  market.nativeAsset = wanted
}

/** Enough for the chain follower's (it keeps 4, one every 16 blocks). */
const MAX_CHECKPOINTS = 8

interface AaveCheckpoint {
  base: Omit<MarketState, 'accounts'>
  /** Account → its position at the checkpoint (undefined: it did not exist), for those changed since. */
  pre: Map<string, AccountPosition | undefined>
}

function buildFloats(market: MarketState): FloatBalances {
  let reserves = 0
  for (const r of market.reserves.values()) reserves = Math.max(reserves, r.id + 1)
  const floats = new FloatBalances(reserves)
  for (const [key, position] of market.accounts) floats.set(key, position)
  return floats
}

export async function createAaveV3Strategy(
  context: { client?: PublicClient | undefined; log: Logger; sender?: Address | undefined },
  options: AaveOptions,
  start: { fromBlock: bigint; toBlock?: bigint | undefined; restored?: unknown },
): Promise<AaveStrategy> {
  const { client, log } = context
  const addresses: MarketAddresses = {
    addressesProvider: options.addressesProvider,
    multicallAddress: options.multicallAddress,
    wrappedNative: options.wrappedNative,
  }
  const needClient = (what: string): PublicClient => {
    if (!client) throw new FatalError(`the Aave strategy needs a node to ${what}`)
    return client
  }
  let market: MarketState
  if (start.restored !== undefined) {
    market = checkRestored(start.restored)
    adoptWrappedNative(market, options.wrappedNative)
    log.info({ block: market.block.number, accounts: market.accounts.size }, 'mirror restored')
  } else {
    const started = Date.now()
    market = (
      await buildMirror(needClient('build the mirror'), {
        ...addresses,
        fromBlock: start.fromBlock,
        ...(start.toBlock !== undefined ? { toBlock: start.toBlock } : {}),
      })
    ).market
    log.info(
      { block: market.block.number, accounts: market.accounts.size, ms: Date.now() - started },
      'mirror built from logs',
    )
  }
  // Flash liquidations: the contract and the deepest swap pool of every pair, read once at start.
  let flash: FlashSetup | undefined
  if (options.flash) {
    flash = await loadFlashSetup(needClient('find swap pools'), market, options.flash)
    // Only its owner may call it: a daemon signing as someone else would never get a flash route.
    if (context.sender && context.sender.toLowerCase() !== flash.owner.toLowerCase())
      throw new UsageError(
        `market.flashLiquidator ${flash.contract} is owned by ${flash.owner}, not by the liquidator ${context.sender} (only its owner may call it)`,
      )
    log.info(
      { contract: flash.contract, owner: flash.owner, pairs: flash.pools.size / 2 },
      'flash liquidations: swap pools found',
    )
  }
  /** Each planned liquidation with its flash route, where its pair has a swap pool. */
  const withRoutes = (planned: AaveOpportunity[]): AaveOpportunity[] => {
    if (!flash) return planned
    for (const [i, opp] of planned.entries()) {
      const route = flashRoute(flash, market, opp)
      if (route) planned[i] = { ...opp, routes: [route] }
    }
    return planned
  }
  let rotation: string[] = []
  let rotationAt = 0
  const planner = createBlockPlanner()
  /** Float copies of every account's balances for the tick prefilter (refreshed as accounts change). */
  let floats = buildFloats(market)
  /**
   * Per price source, the accounts sorted by how far it must move to bring them to the threshold.
   * Built a slice at a time between events (3 s in one piece at 1M accounts, on start and after a
   * reload or a rollback); until it is complete a pending update walks every account it reaches.
   */
  let triggers = startTriggerIndex(market, floats)
  const buildInBackground = (index: TriggerIndex) => {
    const step = () => {
      if (triggers === index && buildSlice(index, market)) setImmediate(step).unref()
    }
    setImmediate(step).unref()
  }
  buildInBackground(triggers)
  const useTriggers = (next: TriggerIndex) => {
    if (next === triggers) return
    triggers = next
    if (!next.complete) buildInBackground(next)
  }
  /** Open reorg checkpoints, oldest first; each collects pre-images of the accounts changed since. */
  const checkpoints: AaveCheckpoint[] = []
  /** Snapshots being encoded a slice at a time: pre-images of the accounts changed since each began. */
  const captures = new Set<{ pre: Map<string, AccountPosition | undefined>; valid: boolean }>()
  const journal = (key: string, previous: AccountPosition | undefined) => {
    for (const checkpoint of checkpoints)
      if (!checkpoint.pre.has(key)) checkpoint.pre.set(key, previous ? structuredClone(previous) : undefined)
    for (const capture of captures)
      if (!capture.pre.has(key)) capture.pre.set(key, previous ? structuredClone(previous) : undefined)
  }
  /** The mirror was replaced (rollback, rebuild): snapshots under way no longer describe one block. */
  const invalidateCaptures = () => {
    for (const capture of captures) capture.valid = false
    captures.clear()
  }
  const rules = () => marketRules(market)

  const liquidationsIn = (logs: readonly ChainLog[]): LiquidationEvent<AaveLiquidationEventDetails>[] => {
    const pool = market.pool.toLowerCase()
    const poolLogs = logs.filter((l) => l.address.toLowerCase() === pool)
    // Most blocks carry none: viem hashes the ABI's event signatures on every call, even for no logs.
    if (poolLogs.length === 0) return []
    const events = parseEventLogs({
      abi: liquidationCallAbi,
      eventName: 'LiquidationCall',
      logs: poolLogs.map((l) => ({
        address: l.address,
        topics: l.topics as [Hex, ...Hex[]],
        data: l.data,
        blockNumber: l.blockNumber,
        blockHash: l.blockHash,
        logIndex: l.logIndex,
        transactionHash: l.transactionHash,
        transactionIndex: null,
        removed: false,
      })),
      strict: true,
    })
    return events.map((event) => {
      const a = event.args
      const symbol = (asset: string) => market.reserves.get(asset.toLowerCase())
      const c = symbol(a.collateralAsset)
      const d = symbol(a.debtAsset)
      return {
        account: a.user,
        liquidator: a.liquidator,
        txHash: event.transactionHash,
        blockNumber: event.blockNumber,
        valueBase:
          valueAt(market, market.prices, a.collateralAsset, a.liquidatedCollateralAmount) -
          valueAt(market, market.prices, a.debtAsset, a.debtToCover),
        summary: `${formatUnitsFixed(a.debtToCover, d?.decimals ?? 18, 4)} ${d?.symbol ?? a.debtAsset} → ${formatUnitsFixed(a.liquidatedCollateralAmount, c?.decimals ?? 18, 6)} ${c?.symbol ?? a.collateralAsset}`,
        details: {
          collateralAsset: a.collateralAsset,
          debtAsset: a.debtAsset,
          debtToCover: a.debtToCover,
          liquidatedCollateral: a.liquidatedCollateralAmount,
          receiveAToken: a.receiveAToken,
        },
      }
    })
  }

  const strategy: AaveStrategy = {
    name: STRATEGY_NAME,
    baseDecimals: 8,
    get head() {
      return market.block
    },
    market: () => market,
    logFilter: () => ({ addresses: watchedAddresses(market), events: FOLLOWED_EVENTS }),

    async advance(blocks, head) {
      const previousTimestamp = market.block.timestamp
      const result = await applyBlocks(client, market, blocks, head, addresses, journal)
      if (result.rebuildNeeded) {
        log.warn(
          { block: head.number, change: result.rebuildNeeded },
          'Pool changed version: rebuilding the mirror',
        )
        await strategy.rebuild(head)
        return { changedAccounts: market.accounts.size, rebuilt: true }
      }
      for (const d of result.adapterDisagreements ?? [])
        log.warn(
          { source: d.source, asset: d.asset, oracle: d.oracle.toString(), model: d.model?.toString() },
          'price adapter does not follow its known formula; re-reading it only',
        )
      if (result.reloadNeeded.length > 0) {
        if (!client)
          log.warn({ block: head.number }, 'configuration changed in an offline replay; not reloaded')
        planner.markAll()
      }
      // What the next block plan must look at again (the rest cannot have crossed: blockPlanner.ts).
      planner.markDirty(result.touchedAccounts)
      if (result.reloadNeeded.length > 0) {
        floats = buildFloats(market)
        useTriggers(startTriggerIndex(market, floats))
      } else {
        for (const key of result.touchedAccounts) floats.set(key, market.accounts.get(key))
        useTriggers(
          updateTriggerIndex(
            triggers,
            market,
            floats,
            {
              touched: result.touchedAccounts,
              movedPrices: result.movedPrices,
              configured: result.configuredReserves,
            },
            Number(market.block.timestamp - previousTimestamp),
          ),
        )
      }
      const moved = result.movedPrices.size > 0 ? exposedAccounts(market, floats, result.movedPrices) : []
      planner.markDirty(moved)
      if (result.configuredReserves.size > 0)
        planner.markDirty(holdersOf(floats, [...result.configuredReserves]))
      return { changedAccounts: result.touchedAccounts.size + moved.length }
    },
    checkpoint() {
      // Undo records, not a clone of the mirror: everything but the accounts is small and copied;
      // an account's pre-image is kept the first time a later block changes it.
      const { accounts: _accounts, ...rest } = market
      const checkpoint: AaveCheckpoint = { base: structuredClone(rest), pre: new Map() }
      checkpoints.push(checkpoint)
      if (checkpoints.length > MAX_CHECKPOINTS) checkpoints.shift()
      return checkpoint
    },
    restoreCheckpoint(value) {
      const checkpoint = value as AaveCheckpoint
      const at = checkpoints.indexOf(checkpoint)
      if (at < 0) throw new FatalError('restoring a checkpoint the mirror no longer keeps')
      invalidateCaptures()
      const accounts = market.accounts
      for (const [key, previous] of checkpoint.pre) {
        if (previous) accounts.set(key, previous)
        else accounts.delete(key)
      }
      market = { ...structuredClone(checkpoint.base), accounts }
      // Later checkpoints are gone with the blocks they covered; this one starts over from here.
      checkpoints.splice(at + 1)
      checkpoint.pre = new Map()
      floats = buildFloats(market)
      useTriggers(startTriggerIndex(market, floats))
      planner.markAll()
    },
    async rebuild(head) {
      invalidateCaptures()
      market = (
        await buildMirror(needClient('rebuild the mirror'), {
          ...addresses,
          fromBlock: start.fromBlock,
          toBlock: head.number,
        })
      ).market
      floats = buildFloats(market)
      useTriggers(startTriggerIndex(market, floats))
      checkpoints.length = 0
      planner.markAll()
    },

    // A pending update: the exposed accounts at the predicted prices. A block: only what can have
    // changed (blockPlanner.ts), with the same result as planning every account.
    plan: (params) =>
      withRoutes(
        params.predicted
          ? planLiquidations(market, params, { floats, triggers })
          : planner.plan(market, params, floats),
      ),

    decodePendingPrice(tx) {
      if (!tx.to) return undefined
      const to = tx.to.toLowerCase()
      // Assets the feed prices directly, and adapters' underlying feeds it is (their price follows).
      const keys = [...(market.sources.get(to) ?? []), ...feedKeysFor(market, to)]
      if (keys.length === 0) return undefined
      const answer = decodeOracleAnswer(tx.input)
      if (answer === undefined || answer <= 0n) return undefined
      return { prices: new Map(keys.map((key) => [key, answer])), tx } satisfies PredictedPrice
    },
    oracleAddresses: () => new Set([...market.sources.keys(), ...adapterFeedAddresses(market)]),
    nativePriceBase: () => nativePrice(market, market.prices),
    liquidationsIn,
    agrees(opportunity: Opportunity, event: LiquidationEvent) {
      const o = opportunity.details as unknown as AaveLiquidationDetails
      const e = event.details as unknown as AaveLiquidationEventDetails
      return (
        e.debtToCover === o.debtToCover &&
        e.liquidatedCollateral === o.collateralReceived &&
        e.collateralAsset.toLowerCase() === o.collateralAsset.toLowerCase() &&
        e.debtAsset.toLowerCase() === o.debtAsset.toLowerCase()
      )
    },
    approvals: () => [...market.reserves.values()].map((r) => ({ token: r.asset, spender: market.pool })),
    isTracked: (account) => market.accounts.has(account.toLowerCase()),
    accountCount: () => market.accounts.size,
    underwaterCount(timestamp) {
      const view = createMarketView(market, timestamp, rules())
      let n = 0
      for (const p of market.accounts.values())
        if (p.config !== 0n && userAccountData(view, p).healthFactor < view.rules.liquidationThresholdHf) n++
      return n
    },
    healthFactors(timestamp) {
      const view = createMarketView(market, timestamp, rules())
      const out: bigint[] = []
      for (const p of market.accounts.values()) {
        const data = userAccountData(view, p)
        if (data.totalDebtBase > 0n) out.push(data.healthFactor)
      }
      return out
    },
    accountTable() {
      const reports = accountReports(market)
      const symbols = new Map([...market.reserves.values()].map((r) => [r.asset.toLowerCase(), r.symbol]))
      const sym = (a: string) => symbols.get(a.toLowerCase()) ?? a
      return {
        headers: [
          'account',
          'health factor',
          'collateral',
          'debt',
          'best liquidation (repay → seize, value)',
        ],
        align: [false, true, true, true, false],
        rows: reports.map((r) => [
          getAddress(r.account),
          formatHealthFactor(BigInt(r.healthFactor)),
          formatUnitsFixed(BigInt(r.totalCollateralBase), 8),
          formatUnitsFixed(BigInt(r.totalDebtBase), 8),
          r.bestLiquidation
            ? `${sym(r.bestLiquidation.debtAsset)} → ${sym(r.bestLiquidation.collateralAsset)}, ${formatUnitsFixed(BigInt(r.bestLiquidation.valueBase), 8)}`
            : '',
        ]),
        json: reports,
        footer: `${reports.length} accounts at block ${market.block.number}`,
      }
    },
    snapshot: () => market,
    snapshotParts() {
      // Accounts are only ever added or changed in place (never deleted) while the mirror follows
      // blocks, and every change is journalled first: the live map plus the pre-images is the state
      // as of now.
      const { accounts, ...rest } = market
      const capture = { pre: new Map<string, AccountPosition | undefined>(), valid: true }
      captures.add(capture)
      return {
        rest: structuredClone(rest),
        largeKey: 'accounts',
        *entries(): Iterable<[string, unknown]> {
          for (const [key, current] of accounts) {
            if (!capture.valid) throw new Error('the mirror was rolled back while a snapshot was written')
            if (!capture.pre.has(key)) yield [key, current]
            else {
              const before = capture.pre.get(key)
              if (before) yield [key, before]
            }
          }
        },
        release: () => {
          captures.delete(capture)
        },
      }
    },
    async verify() {
      const result = await verifyMirror(needClient('verify the mirror'), market, {
        multicallAddress: options.multicallAddress,
      })
      return {
        blockNumber: result.blockNumber,
        checked: result.checked,
        mismatches: result.mismatches.map(printableMismatch),
      }
    },
    async crossCheck({ include, sample }) {
      const chosen = new Set(include.map((a) => a.toLowerCase()))
      // A rotation over accounts with a position: the whole mirror is covered every n/sample blocks.
      if (sample > 0) {
        if (rotation.length === 0 || rotationAt >= rotation.length) {
          rotation = [...market.accounts].filter(([, p]) => p.config !== 0n).map(([key]) => key)
          rotationAt = 0
        }
        const end = Math.min(rotation.length, rotationAt + sample)
        for (; rotationAt < end; rotationAt++) chosen.add(rotation[rotationAt] as string)
      }
      const result = await verifyMirror(needClient('check the mirror'), market, {
        multicallAddress: options.multicallAddress,
        accounts: [...chosen],
      })
      return {
        blockNumber: result.blockNumber,
        checked: result.checked,
        mismatches: result.mismatches.map(printableMismatch),
      }
    },
    async resync(accounts) {
      for (const key of accounts) journal(key.toLowerCase(), market.accounts.get(key.toLowerCase()))
      await resyncAccounts(needClient('resync accounts'), market, accounts, {
        multicallAddress: options.multicallAddress,
      })
      const keys = accounts.map((a) => a.toLowerCase())
      for (const key of keys) floats.set(key, market.accounts.get(key))
      useTriggers(
        updateTriggerIndex(
          triggers,
          market,
          floats,
          { touched: keys, movedPrices: new Set(), configured: [] },
          0,
        ),
      )
      planner.markDirty(keys)
      log.info({ accounts: accounts.length, block: market.block.number }, 'accounts resynced from the chain')
    },
    describe: () => `Aave v${rules().version} pool ${market.pool}`,
  }
  return strategy
}
