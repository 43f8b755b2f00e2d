/**
 * The running xmargin-perps strategy: the clearinghouse mirror behind the core's Strategy
 * interface. Plans at stored, pending or streamed prices; verifies against accountHealth.
 */
import {
  type Address,
  decodeEventLog,
  decodeFunctionData,
  getAddress,
  type Hex,
  type PublicClient,
  parseAbi,
} from 'viem'
import { readMany } from '../../src/chain/readMany.js'
import type { ChainLog } from '../../src/chain/types.js'
import { CorruptStateError, FatalError } from '../../src/errors.js'
import { formatUnitsFixed } from '../../src/format.js'
import type { Logger } from '../../src/logger.js'
import { decodePriceUpdates } from '../../src/prices/pythUpdates.js'
import type {
  LiquidationEvent,
  Opportunity,
  PredictedPrice,
  Strategy,
  VerifyResult,
} from '../../src/types.js'
import { clearinghouseAbi } from './abi.js'
import { applyLogs, emptyPerpsResult } from './applyLogs.js'
import { PerpsCandidateIndex, REBUILD_DRIFT } from './candidateIndex.js'
import {
  buildPerpsMirror,
  FOLLOWED_EVENTS,
  loadConfiguration,
  type PerpsAddresses,
  watchedAddresses,
} from './loadState.js'
import { accountHealth, pricesOf, quoteLiquidation, toWad, WAD } from './math.js'
import { nativePrice, type PerpsLiquidationDetails, planPerps, STRATEGY_NAME } from './plan.js'
import type { PerpsState } from './state.js'
import { parsePerpsState } from './stateSchema.js'

export interface PerpsOptions extends PerpsAddresses {
  fromBlock: bigint
  /** Hermes endpoint for the off-chain price stream (undefined: on-chain prices only). */
  priceService?: string | undefined
}

export type PerpsLiquidationEventDetails = {
  marketId: number
  sizeClosed: bigint
  price: bigint
  reward: bigint
  fromInsurance: bigint
}

export interface PerpsStrategy extends Strategy {
  state(): PerpsState
}

const pythUpdateAbi = parseAbi(['function updatePriceFeeds(bytes[] updateData) payable'])

/** A snapshot or dataset state is trusted only once it matches the schema (files can be edited or truncated). */
function checkRestored(value: unknown): PerpsState {
  const parsed = parsePerpsState(value)
  if ('error' in parsed)
    throw new CorruptStateError(
      `the saved perps mirror does not match its schema at ${parsed.error} (corrupt snapshot or dataset)`,
    )
  return parsed.state
}

export async function createPerpsStrategy(
  context: { client?: PublicClient | undefined; log: Logger },
  options: PerpsOptions,
  start: { fromBlock: bigint; toBlock?: bigint | undefined; restored?: unknown },
): Promise<PerpsStrategy> {
  const { client, log } = context
  const needClient = (what: string): PublicClient => {
    if (!client) throw new FatalError(`the perps strategy needs a node to ${what}`)
    return client
  }
  let state: PerpsState =
    start.restored !== undefined
      ? checkRestored(start.restored)
      : await buildPerpsMirror(needClient('build the mirror'), {
          ...options,
          fromBlock: start.fromBlock,
          toBlock: start.toBlock,
        })
  log.info(
    { block: state.block.number, accounts: state.accounts.size },
    start.restored ? 'mirror restored' : 'mirror built from logs',
  )

  /** Narrows each plan to the accounts a move can have made liquidatable; built on the next plan. */
  let candidates: PerpsCandidateIndex | undefined

  let rotation: string[] = []
  let rotationAt = 0
  /** The mirror's health of these accounts (computed first, before any await) against accountHealth. */
  const compareWithChain = async (accounts: string[]): Promise<VerifyResult> => {
    const c = needClient('verify the mirror')
    const blockNumber = state.block.number
    const prices = pricesOf(state)
    if (!prices) throw new FatalError('no prices for the mirror')
    const mirrored = accounts.map((key) => {
      const a = state.accounts.get(key)
      if (!a) throw new FatalError(`account ${key} is not in the mirror`)
      return accountHealth(state, a, prices, state.block.timestamp)
    })
    const results = await readMany(
      c,
      accounts.map((a) => ({
        address: state.clearinghouse,
        abi: clearinghouseAbi,
        functionName: 'accountHealth',
        args: [a],
      })),
      { multicallAddress: options.multicallAddress, blockNumber },
    )
    const mismatches: VerifyResult['mismatches'] = []
    accounts.forEach((key, i) => {
      const chain = results[i]
      if (chain instanceof Error || !Array.isArray(chain))
        throw chain instanceof Error ? chain : new FatalError('accountHealth returned no tuple')
      const mirror = mirrored[i] as ReturnType<typeof accountHealth>
      const fields = [
        ['netValue', mirror.netValue],
        ['maintenanceMargin', mirror.maintenanceMargin],
        ['initialMargin', mirror.initialMargin],
      ] as const
      fields.forEach(([field, value], f) => {
        const onChain = chain[f] as bigint
        if (value !== onChain)
          mismatches.push({
            account: getAddress(key),
            field,
            mirror: value.toString(),
            chain: onChain.toString(),
          })
      })
    })
    return { blockNumber, checked: accounts.length, mismatches }
  }

  const liquidationsIn = (logs: readonly ChainLog[]): LiquidationEvent<PerpsLiquidationEventDetails>[] => {
    const out: LiquidationEvent<PerpsLiquidationEventDetails>[] = []
    const address = state.clearinghouse.toLowerCase()
    for (const log of logs) {
      if (log.address.toLowerCase() !== address) continue
      const e = decodeEventLog({
        abi: clearinghouseAbi,
        data: log.data,
        topics: log.topics as [Hex, ...Hex[]],
        strict: true,
      })
      if (e.eventName !== 'Liquidated') continue
      const market = state.markets[Number(e.args.marketId)]
      out.push({
        account: e.args.account,
        liquidator: e.args.liquidator,
        txHash: log.transactionHash,
        blockNumber: log.blockNumber,
        valueBase: e.args.reward,
        summary: `${market?.symbol ?? e.args.marketId} ${formatUnitsFixed(e.args.sizeClosed, 18, 4)} @ ${formatUnitsFixed(e.args.price, 18, 2)}, reward ${formatUnitsFixed(e.args.reward, 18, 2)} USD`,
        details: {
          marketId: Number(e.args.marketId),
          sizeClosed: e.args.sizeClosed,
          price: e.args.price,
          reward: e.args.reward,
          fromInsurance: e.args.fromInsurance,
        },
      })
    }
    return out
  }

  const healthAt = (timestamp: bigint) => {
    const prices = pricesOf(state)
    return [...state.accounts].flatMap(([key, a]) =>
      prices && a.positions.size > 0 ? [{ key, health: accountHealth(state, a, prices, timestamp) }] : [],
    )
  }

  const strategy: PerpsStrategy = {
    name: STRATEGY_NAME,
    baseDecimals: 18,
    get head() {
      return state.block
    },
    state: () => state,
    logFilter: () => ({ addresses: watchedAddresses(state), events: FOLLOWED_EVENTS }),
    async advance(blocks, head) {
      const result = emptyPerpsResult()
      for (const block of blocks) applyLogs(state, block.logs, result)
      if (result.reloadNeeded) {
        if (client) {
          const fresh = await loadConfiguration(client, { ...options, blockNumber: head.number })
          state.collaterals = fresh.collaterals
          state.markets = fresh.markets
          state.expos = fresh.expos
          state.prices = fresh.prices
        } else log.warn({ block: head.number }, 'configuration changed in an offline replay; not reloaded')
      }
      state.block = { number: head.number, hash: head.hash, timestamp: head.timestamp }
      const broad = result.movedFeeds.size + result.marketsChanged.size + result.collateralsChanged.size > 0
      if (candidates) {
        const reconfigured =
          result.reloadNeeded || result.marketsChanged.size > 0 || result.collateralsChanged.size > 0
        if (reconfigured || !candidates.describes(state)) candidates = undefined
        else if (result.movedFeeds.size > 0 && candidates.storedDrift() > REBUILD_DRIFT)
          candidates = undefined
        else for (const key of result.touchedAccounts) candidates.refresh(key, head.timestamp)
      }
      return { changedAccounts: broad ? state.accounts.size : result.touchedAccounts.size }
    },
    checkpoint: () => structuredClone(state),
    restoreCheckpoint(checkpoint) {
      state = structuredClone(checkpoint as PerpsState)
      candidates = undefined
    },
    async rebuild(head) {
      candidates = undefined
      state = await buildPerpsMirror(needClient('rebuild the mirror'), {
        ...options,
        fromBlock: start.fromBlock,
        toBlock: head.number,
      })
    },
    plan: (params) => {
      if (!candidates?.describes(state)) candidates = PerpsCandidateIndex.build(state, state.block.timestamp)
      const index = candidates
      return planPerps(
        state,
        { ...params, updateFeeWei: state.updateFeeWei },
        index ? (prices, timestamp) => index.candidates(prices, timestamp) : undefined,
      )
    },
    decodePendingPrice(tx) {
      if (!tx.to || tx.to.toLowerCase() !== state.pyth.toLowerCase()) return undefined
      let updates: Hex[]
      try {
        const call = decodeFunctionData({ abi: pythUpdateAbi, data: tx.input })
        updates = [...call.args[0]]
      } catch {
        return undefined // another Pyth call: not a price push
      }
      const prices = new Map<string, bigint>()
      for (const feed of decodePriceUpdates(updates)) {
        const wad = toWad(feed.price, feed.expo)
        if (wad !== undefined && state.expos.has(feed.id)) prices.set(feed.id, wad)
      }
      return prices.size > 0 ? ({ prices, tx } satisfies PredictedPrice) : undefined
    },
    oracleAddresses: () => new Set([state.pyth.toLowerCase()]),
    nativePriceBase: () => nativePrice(state),
    liquidationsIn,
    agrees(opportunity: Opportunity, event: LiquidationEvent) {
      const o = opportunity.details as unknown as PerpsLiquidationDetails
      const e = event.details as unknown as PerpsLiquidationEventDetails
      return (
        o.marketId === e.marketId &&
        o.sizeClosed === e.sizeClosed &&
        o.reward === e.reward &&
        o.price === e.price
      )
    },
    // The reward is credited as margin inside the clearinghouse: no token to approve.
    approvals: () => [],
    isTracked: (account) => state.accounts.has(account.toLowerCase()),
    accountCount: () => state.accounts.size,
    underwaterCount: (timestamp) =>
      healthAt(timestamp).filter((h) => h.health.netValue < h.health.maintenanceMargin).length,
    healthFactors: (timestamp) =>
      healthAt(timestamp).map(({ health: h }) =>
        h.maintenanceMargin === 0n
          ? 2n ** 128n
          : h.netValue <= 0n
            ? 0n
            : (h.netValue * WAD) / h.maintenanceMargin,
      ),
    accountTable() {
      const prices = pricesOf(state)
      const t = state.block.timestamp
      const rows = [...state.accounts]
        .filter(([, a]) => a.positions.size > 0 || a.balances.size > 0)
        .map(([key, a]) => {
          const h = prices
            ? accountHealth(state, a, prices, t)
            : { netValue: 0n, maintenanceMargin: 0n, initialMargin: 0n }
          const q = prices ? quoteLiquidation(state, a, prices, t) : undefined
          return {
            key,
            h,
            q,
            ratio:
              h.maintenanceMargin === 0n
                ? Number.POSITIVE_INFINITY
                : Number(h.netValue) / Number(h.maintenanceMargin),
          }
        })
        .sort((x, y) => x.ratio - y.ratio || (x.key < y.key ? -1 : 1))
      return {
        headers: [
          'account',
          'net value',
          'maintenance',
          'initial',
          'next liquidation (market, size, reward)',
        ],
        align: [false, true, true, true, false],
        rows: rows.map(({ key, h, q }) => [
          getAddress(key),
          formatUnitsFixed(h.netValue, 18, 2),
          formatUnitsFixed(h.maintenanceMargin, 18, 2),
          formatUnitsFixed(h.initialMargin, 18, 2),
          q
            ? `${state.markets[q.marketId]?.symbol}, ${formatUnitsFixed(q.sizeClosed, 18, 4)}, ${formatUnitsFixed(q.reward, 18, 2)}`
            : '',
        ]),
        json: rows.map(({ key, h, q }) => ({
          account: key,
          blockNumber: state.block.number.toString(),
          netValue: h.netValue.toString(),
          maintenanceMargin: h.maintenanceMargin.toString(),
          initialMargin: h.initialMargin.toString(),
          ...(q
            ? {
                nextLiquidation: {
                  marketId: q.marketId,
                  market: state.markets[q.marketId]?.symbol,
                  sizeClosed: q.sizeClosed.toString(),
                  reward: q.reward.toString(),
                },
              }
            : {}),
        })),
        footer: `${rows.length} accounts at block ${state.block.number}`,
      }
    },
    snapshot: () => state,
    verify: () => compareWithChain([...state.accounts.keys()]),
    async crossCheck({ include, sample }) {
      const chosen = new Set(include.map((a) => a.toLowerCase()))
      if (sample > 0) {
        if (rotation.length === 0 || rotationAt >= rotation.length) {
          rotation = [...state.accounts.keys()]
          rotationAt = 0
        }
        const end = Math.min(rotation.length, rotationAt + sample)
        for (; rotationAt < end; rotationAt++) chosen.add(rotation[rotationAt] as string)
      }
      return compareWithChain([...chosen].filter((a) => state.accounts.has(a)))
    },
    async resync(accounts) {
      const c = needClient('resync accounts')
      const blockNumber = state.block.number
      const keys = accounts.map((a) => a.toLowerCase() as Address)
      const calls = keys.flatMap((account) => [
        {
          address: state.clearinghouse,
          abi: clearinghouseAbi,
          functionName: 'settlementBalanceOf',
          args: [account],
        },
        ...state.collaterals.map((col) => ({
          address: state.clearinghouse,
          abi: clearinghouseAbi,
          functionName: 'balanceOf',
          args: [account, BigInt(col.assetId)],
        })),
        ...state.markets.map((m) => ({
          address: state.clearinghouse,
          abi: clearinghouseAbi,
          functionName: 'getPosition',
          args: [account, BigInt(m.marketId)],
        })),
      ])
      const results = await readMany(c, calls, { multicallAddress: options.multicallAddress, blockNumber })
      const failed = results.find((r) => r instanceof Error)
      if (failed) throw failed
      if (state.block.number !== blockNumber)
        throw new FatalError('the mirror moved while accounts were resynced')
      const per = 1 + state.collaterals.length + state.markets.length
      keys.forEach((account, k) => {
        const row = results.slice(k * per, (k + 1) * per)
        const balances = new Map<number, bigint>()
        state.collaterals.forEach((col, i) => {
          const amount = row[1 + i] as bigint
          if (amount !== 0n) balances.set(col.assetId, amount)
        })
        const positions = new Map<number, { size: bigint; openNotional: bigint; entryFundingIndex: bigint }>()
        state.markets.forEach((m, i) => {
          const p = row[1 + state.collaterals.length + i] as {
            size: bigint
            openNotional: bigint
            entryFundingIndex: bigint
          }
          if (p.size !== 0n)
            positions.set(m.marketId, {
              size: p.size,
              openNotional: p.openNotional,
              entryFundingIndex: p.entryFundingIndex,
            })
        })
        state.accounts.set(account, { balances, settlement: row[0] as bigint, positions })
        candidates?.refresh(account, state.block.timestamp)
      })
      log.info({ accounts: keys.length, block: blockNumber }, 'accounts resynced from the chain')
    },
    describe: () =>
      `xmargin-perps clearinghouse ${state.clearinghouse} (${state.markets.map((m) => m.symbol).join(', ')}; collateral ${state.collaterals.map((c) => c.symbol).join(', ')})`,
    priceStream: () =>
      options.priceService
        ? {
            endpoint: options.priceService,
            feedIds: [
              ...new Set([...state.collaterals.map((c) => c.feedId), ...state.markets.map((m) => m.feedId)]),
            ].map((id) => id.toLowerCase()),
          }
        : undefined,
  }
  return strategy
}
