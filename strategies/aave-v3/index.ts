/**
 * The Aave v3 strategy: the mirror (built from logs or restored from a snapshot), kept at the head
 * block through gaps and reorgs, and planning of liquidations at a given timestamp and prices.
 * IO lives in sync/create; plan and decodePendingPrice are pure functions of the mirror.
 */
import { type Hex, type PublicClient, parseEventLogs } from 'viem'
import type { Logger } from '../../src/logger.js'
import type { BlockHeader, PredictedPrice, Strategy, SyncResult } from '../../src/types.js'
import { poolAbi } from './abi.js'
import { advanceMirror, buildMirror } from './buildMirror.js'
import { buildExposureIndex, type ExposureIndex, exposedAccounts, indexAccount } from './exposure.js'
import type { MarketAddresses } from './loadMarket.js'
import { createMarketView, userAccountData } from './math.js'
import { decodeOracleAnswer } from './oracleDecode.js'
import { nativePrice, planLiquidations, STRATEGY_NAME } from './plan.js'
import { rulesForRevision } from './rules.js'
import type { MarketState } from './state.js'
import { verifyMirror } from './verifyMirror.js'

export { STRATEGY_NAME }

const CHECKPOINT_EVERY = 16n
const CHECKPOINTS_KEPT = 4

export interface AaveStrategyParams extends MarketAddresses {
  client: PublicClient
  fromBlock: bigint
  log: Logger
  /** A mirror restored from a snapshot (already checked against chain and market). */
  restored?: MarketState | undefined
}

export interface AaveStrategy extends Strategy {
  market(): MarketState
}

export async function createAaveV3Strategy(params: AaveStrategyParams): Promise<AaveStrategy> {
  const { client, log } = params
  const addresses: MarketAddresses = {
    addressesProvider: params.addressesProvider,
    multicallAddress: params.multicallAddress,
  }
  let market: MarketState
  if (params.restored) {
    market = params.restored
    log.info({ block: market.block.number, accounts: market.accounts.size }, 'mirror restored from snapshot')
  } else {
    const started = Date.now()
    market = (await buildMirror(client, { ...addresses, fromBlock: params.fromBlock })).market
    log.info(
      { block: market.block.number, accounts: market.accounts.size, ms: Date.now() - started },
      'mirror built from logs',
    )
  }
  let exposure: ExposureIndex = buildExposureIndex(market)
  let checkpoints: MarketState[] = [structuredClone(market)]
  /** Hashes of the heads we processed, to find the common ancestor after a reorg. */
  const processed = new Map<bigint, Hex>([[market.block.number, market.block.hash]])

  const rules = () => rulesForRevision(market.poolRevision)

  const remember = () => {
    processed.set(market.block.number, market.block.hash)
    for (const n of processed.keys()) if (n < market.block.number - 256n) processed.delete(n)
    const last = checkpoints[checkpoints.length - 1]
    if (!last || market.block.number - last.block.number >= CHECKPOINT_EVERY) {
      checkpoints.push(structuredClone(market))
      if (checkpoints.length > CHECKPOINTS_KEPT) checkpoints = checkpoints.slice(-CHECKPOINTS_KEPT)
    }
  }

  async function findAncestor(): Promise<bigint | undefined> {
    const numbers = [...processed.keys()].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
    for (const n of numbers) {
      const canonical = await client.getBlock({ blockNumber: n }).catch(() => undefined)
      if (canonical && canonical.hash === processed.get(n)) return n
    }
    return undefined
  }

  async function rollback(header: BlockHeader): Promise<SyncResult> {
    const ancestor = await findAncestor()
    const checkpoint =
      ancestor === undefined ? undefined : [...checkpoints].reverse().find((c) => c.block.number <= ancestor)
    for (const n of [...processed.keys()]) if (ancestor === undefined || n > ancestor) processed.delete(n)
    if (!checkpoint || ancestor === undefined) {
      log.warn({ head: header.number }, 'reorg deeper than the kept checkpoints: rebuilding the mirror')
      market = (
        await buildMirror(client, { ...addresses, fromBlock: params.fromBlock, toBlock: header.number })
      ).market
      checkpoints = [structuredClone(market)]
      exposure = buildExposureIndex(market)
      remember()
      return { changedAccounts: market.accounts.size, rebuilt: true }
    }
    checkpoints = checkpoints.filter((c) => c.block.number <= checkpoint.block.number)
    market = structuredClone(checkpoint)
    await advanceMirror(client, market, header.number, addresses, header)
    exposure = buildExposureIndex(market)
    remember()
    log.warn(
      { ancestor, checkpoint: checkpoint.block.number, head: header.number },
      'reorg: mirror rolled back and replayed',
    )
    return { changedAccounts: market.accounts.size, reorgedTo: ancestor }
  }

  return {
    name: STRATEGY_NAME,
    get head() {
      return market.block
    },
    market: () => market,

    async sync(header) {
      const current = market.block
      if (header.number === current.number && header.hash === current.hash) return { changedAccounts: 0 }
      const extendsHead = header.number === current.number + 1n && header.parentHash === current.hash
      if (!extendsHead) {
        let reorg = header.number <= current.number || header.number === current.number + 1n
        if (!reorg) {
          // A gap: our head must still be canonical, or blocks we applied were reorged out.
          const canonical = await client.getBlock({ blockNumber: current.number })
          reorg = canonical.hash !== current.hash
        }
        if (reorg) return rollback(header)
      }
      const result = await advanceMirror(client, market, header.number, addresses, header)
      for (const key of result.touchedAccounts) indexAccount(exposure, key, market.accounts.get(key))
      if (result.reloadNeeded.length > 0) exposure = buildExposureIndex(market)
      remember()
      const moved =
        result.movedPrices.size > 0 ? exposedAccounts(market, exposure, result.movedPrices).size : 0
      return { changedAccounts: result.touchedAccounts.size + moved }
    },

    plan: (params) => planLiquidations(market, exposure, params),

    decodePendingPrice(tx) {
      if (!tx.to) return undefined
      const assets = market.sources.get(tx.to.toLowerCase())
      if (!assets || assets.length === 0) return undefined
      const answer = decodeOracleAnswer(tx.input)
      if (answer === undefined || answer <= 0n) return undefined
      return { prices: new Map(assets.map((asset) => [asset, answer])), tx } satisfies PredictedPrice
    },

    valueBase(asset, amount, predicted) {
      const key = asset.toLowerCase()
      const reserve = market.reserves.get(key)
      const price = predicted?.prices.get(key) ?? market.prices.get(key) ?? 0n
      return reserve ? (amount * price) / 10n ** BigInt(reserve.decimals) : 0n
    },
    decodeExecution(logs) {
      const [event] = parseEventLogs({
        abi: poolAbi,
        eventName: 'LiquidationCall',
        logs: logs as never,
        strict: true,
      })
      if (!event) return undefined
      return {
        account: event.args.user,
        repayAsset: event.args.debtAsset,
        repaid: event.args.debtToCover,
        receiveAsset: event.args.collateralAsset,
        received: event.args.liquidatedCollateralAmount,
      }
    },
    oracleAddresses: () => new Set(market.sources.keys()),
    nativePriceBase: () => nativePrice(market, market.prices),
    approvals: () => [...market.reserves.values()].map((r) => ({ token: r.asset, spender: market.pool })),
    accountCount: () => market.accounts.size,
    underwaterCount(timestamp) {
      const view = createMarketView(market, timestamp, rules())
      let n = 0
      for (const p of market.accounts.values())
        if (p.config !== 0n && userAccountData(view, p).healthFactor < view.rules.liquidationThresholdHf) n++
      return n
    },
    snapshot: () => market,
    async verify() {
      const result = await verifyMirror(client, market, { multicallAddress: params.multicallAddress })
      return { checked: result.checked, mismatches: result.mismatches.length }
    },
  }
}
