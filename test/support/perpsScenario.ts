/**
 * A randomized life of the perps devnet: deposits and withdrawals of every collateral, longs and
 * shorts in every market (crossing band edges), funding and volatility changes, time jumps from
 * seconds to a month, on-chain and off-chain price moves, and liquidations by another account.
 * The mirror follows through the core's chain follower; every liquidation is predicted first.
 */
import { type Address, decodeEventLog, encodeFunctionData, type Hex, parseUnits } from 'viem'
import { devActions } from '../../src/chain/devActions.js'
import { createChainFollower } from '../../src/chain/followChain.js'
import { sendUnlocked, waitForReceipt } from '../../src/chain/rpc.js'
import type { HermesService } from '../../src/devnet/hermesService.js'
import { createRandom } from '../../src/devnet/random.js'
import type { Devnet } from '../../src/devnet/startDevnet.js'
import { createLogger } from '../../src/logger.js'
import { clearinghouseAbi, devTokenAbi, pythAbi } from '../../strategies/xmargin-perps/abi.js'
import {
  COLLATERALS,
  MARKETS,
  PERPS_ADMIN,
  type PerpsDevnetAddresses,
  UPDATE_FEE_WEI,
} from '../../strategies/xmargin-perps/devnet/index.js'
import { xmarginPerps } from '../../strategies/xmargin-perps/index.js'
import { pricesOf, quoteLiquidation, toWad } from '../../strategies/xmargin-perps/math.js'
import type { PerpsStrategy } from '../../strategies/xmargin-perps/strategy.js'
import { pendingTx } from './fakes.js'

export interface PerpsScenarioStats {
  operations: number
  transactions: number
  reverted: number
  liquidations: number
  predictedLiquidations: number
  checkpoints: number
  mismatches: number
  timeJumps: number
  offChainMoves: number
  bandCrossings: number
  /** Plans of the strategy compared with quoting every account. */
  plans: number
}

/** A pending oracle transaction to plan against (its fields do not matter to planning). */
const PLAN_TX = pendingTx(0, '0x0000000000000000000000000000000000000002')

const FEED_PRICES: Record<string, number> = { ETH: 3000, BTC: 60000, USDC: 1, SOL: 150 }

export async function runPerpsScenario(
  devnet: Devnet,
  options: { steps: number; seed: number; checkpoints: number },
): Promise<{ stats: PerpsScenarioStats; liquidationMismatches: string[] }> {
  const client = devnet.client
  const a = devnet.addresses as unknown as PerpsDevnetAddresses
  const service = devnet.services.service as HermesService
  ;(devnet.services.pusher as { stop(): void }).stop()
  const dev = devActions(client)
  const random = createRandom(options.seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const target = xmarginPerps.resolveTarget({
    section: undefined,
    flags: {},
    devnet: { info: devnet, rank: 'flag' },
    chainId: undefined,
    fromBlock: undefined,
  })
  const strategy = (await xmarginPerps.create({ client, log: createLogger('silent') }, target.options, {
    fromBlock: 0n,
  })) as PerpsStrategy
  const follower = createChainFollower({ client, strategy, log: createLogger('silent') })
  const sync = async () => {
    const b = await client.getBlock()
    await follower.sync({
      number: b.number,
      hash: b.hash,
      parentHash: b.parentHash,
      timestamp: b.timestamp,
      baseFeePerGas: b.baseFeePerGas,
    })
  }
  const stats: PerpsScenarioStats = {
    operations: 0,
    transactions: 0,
    reverted: 0,
    liquidations: 0,
    predictedLiquidations: 0,
    checkpoints: 0,
    mismatches: 0,
    timeJumps: 0,
    offChainMoves: 0,
    bandCrossings: 0,
    plans: 0,
  }
  const liquidationMismatches: string[] = []
  const traders = [...devnet.accounts]
  const liquidator: Address = '0x000000000000000000000000000000000000b0b0'
  await dev.setBalance({ address: liquidator, value: 10n ** 22n })
  await dev.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)

  const send = async (from: Address, to: Address, data: Hex, value = 0n) => {
    stats.transactions++
    const hash = await sendUnlocked(client, { from, to, data, value, gas: 3_000_000n })
    const receipt = await waitForReceipt(client, hash)
    if (receipt.status !== 'success') stats.reverted++
    return receipt
  }
  const ch = (functionName: string, args: readonly unknown[]) =>
    encodeFunctionData({ abi: clearinghouseAbi, functionName, args } as never)

  /** Every feed's price, moved in the service (and, when `push`, landed on chain), at `publishTime`. */
  const allUpdates = () => service.feeds().map((f) => service.updateData(f.id))
  const pushAll = async () =>
    send(
      PERPS_ADMIN,
      a.pyth,
      encodeFunctionData({ abi: pythAbi, functionName: 'updatePriceFeeds', args: [allUpdates()] }),
      UPDATE_FEE_WEI * BigInt(service.feeds().length),
    )
  const refresh = async (moveBps = 0) => {
    const t = (await client.getBlock()).timestamp + 1n
    for (const f of service.feeds()) {
      const factor = 1 + ((random() * 2 - 1) * moveBps) / 10_000
      const next = f.symbol === 'USDC' ? f.price : BigInt(Math.max(1, Math.round(Number(f.price) * factor)))
      service.setPrice(f.symbol, next, t)
    }
  }
  let lastPush = (await client.getBlock()).timestamp
  const keepFresh = async () => {
    const now = (await client.getBlock()).timestamp
    if (now - lastPush < 40n) return
    await refresh(0)
    await pushAll()
    lastPush = now + 1n
  }

  const checkpointEvery = Math.max(1, Math.floor(options.steps / options.checkpoints))
  for (let step = 0; step < options.steps; step++) {
    stats.operations++
    const r = random()
    const trader = pick(traders)
    if (r < 0.12) {
      await keepFresh()
      const c = pick(COLLATERALS)
      const token = a.collaterals[c.symbol]?.asset as Address
      const usd = 500 + random() * 20_000
      const amount = parseUnits(
        (usd / (FEED_PRICES[c.feed] ?? 1)).toFixed(Math.min(c.decimals, 8)),
        c.decimals,
      )
      await send(
        PERPS_ADMIN,
        token,
        encodeFunctionData({ abi: devTokenAbi, functionName: 'mint', args: [trader, amount] }),
      )
      await send(
        trader,
        token,
        encodeFunctionData({
          abi: devTokenAbi,
          functionName: 'approve',
          args: [a.clearinghouse, 2n ** 256n - 1n],
        }),
      )
      await send(trader, a.clearinghouse, ch('deposit', [token, amount]))
    } else if (r < 0.2) {
      await keepFresh()
      const c = pick(COLLATERALS)
      const balance =
        strategy
          .state()
          .accounts.get(trader.toLowerCase())
          ?.balances.get(a.collaterals[c.symbol]?.assetId ?? 0) ?? 0n
      if (balance > 0n) {
        const amount = (balance * BigInt(1 + Math.floor(random() * 60))) / 100n
        await send(trader, a.clearinghouse, ch('withdraw', [a.collaterals[c.symbol]?.asset, amount, []]))
      }
    } else if (r < 0.55) {
      await keepFresh()
      const m = pick(MARKETS)
      const marketId = a.markets[m.symbol]?.marketId ?? 0
      const position = strategy.state().accounts.get(trader.toLowerCase())?.positions.get(marketId)
      const price = FEED_PRICES[m.feed] ?? 1
      // Mostly modest trades, some whale-sized ones across the 100k / 1M edges, reductions and flips.
      const usd = random() < 0.15 ? 100_000 + random() * 1_200_000 : 1_000 + random() * 60_000
      let delta = parseUnits((usd / price).toFixed(6), 18) * (random() < 0.5 ? -1n : 1n)
      if (position && random() < 0.35)
        delta = -(position.size * BigInt(1 + Math.floor(random() * 130))) / 100n
      if (usd > 100_000) stats.bandCrossings++
      if (delta !== 0n)
        await send(trader, a.clearinghouse, ch('modifyPosition', [BigInt(marketId), delta, []]))
    } else if (r < 0.6) {
      const m = Math.floor(random() * MARKETS.length)
      const rate = BigInt(Math.round((random() * 2 - 1) * 1e14))
      await send(PERPS_ADMIN, a.clearinghouse, ch('setFundingRate', [BigInt(m), rate]))
    } else if (r < 0.65) {
      const isMarket = random() < 0.5
      const id = Math.floor(random() * (isMarket ? MARKETS.length : COLLATERALS.length))
      await send(
        PERPS_ADMIN,
        a.clearinghouse,
        ch('setVolatility', [isMarket, BigInt(id), BigInt(Math.floor(random() * 15_000))]),
      )
    } else if (r < 0.7) {
      stats.timeJumps++
      const seconds = pick([3, 30, 600, 3_600, 86_400, 7 * 86_400, 30 * 86_400])
      await dev.increaseTime({ seconds })
      await dev.mine({ blocks: 1 })
      await refresh(300)
      await pushAll()
      lastPush = (await client.getBlock()).timestamp
    } else if (r < 0.8) {
      await refresh(600)
      await pushAll()
      lastPush = (await client.getBlock()).timestamp
    } else if (r < 0.88) {
      // Off-chain only: the service moves, the chain does not (yet).
      stats.offChainMoves++
      await refresh(800)
    } else {
      await sync()
      // Another liquidator takes the worst account, carrying the service's update in its call.
      const state = strategy.state()
      const head = strategy.head
      const t = head.timestamp + 1n
      const overrides = new Map<string, bigint>()
      for (const f of service.feeds()) {
        const stored = state.prices.get(f.id.toLowerCase())
        const wad = toWad(f.price, f.expo)
        if (wad !== undefined && (!stored || stored.publishTime < f.publishTime))
          overrides.set(f.id.toLowerCase(), wad)
      }
      const prices = pricesOf(state, overrides)
      const candidates = prices
        ? [...state.accounts].flatMap(([key, acc]) => {
            const q = acc.positions.size > 0 ? quoteLiquidation(state, acc, prices, t) : undefined
            return q ? [{ key, q }] : []
          })
        : []
      const fresh = service.feeds().every((f) => t - f.publishTime <= 60n)
      if (fresh) {
        // The strategy's own plan (through its candidate index, kept by the blocks it followed)
        // finds exactly the accounts quoting every account finds.
        const planned = strategy
          .plan({
            timestamp: t,
            gasPriceWei: 0n,
            ...(overrides.size > 0 ? { predicted: { prices: overrides, tx: PLAN_TX } } : {}),
          })
          .map((o) => o.key)
          .sort()
        const expected = candidates
          .filter(({ q }) => q.sizeClosed !== 0n)
          .map(({ key }) => key)
          .sort()
        stats.plans++
        if (planned.join() !== expected.join())
          liquidationMismatches.push(
            `plan at ${t}: planned [${planned}], quoting every account [${expected}]`,
          )
      }
      if (candidates.length > 0 && fresh) {
        const { key, q } = pick(candidates)
        await dev.setNextBlockTimestamp({ timestamp: t })
        const receipt = await send(
          liquidator,
          a.clearinghouse,
          ch('liquidate', [key, allUpdates()]),
          UPDATE_FEE_WEI * BigInt(service.feeds().length),
        )
        stats.predictedLiquidations++
        const event = receipt.logs
          .filter((l) => l.address.toLowerCase() === a.clearinghouse.toLowerCase())
          .map((l) => decodeEventLog({ abi: clearinghouseAbi, data: l.data, topics: l.topics }))
          .find((e) => e.eventName === 'Liquidated')
        if (event?.eventName === 'Liquidated') {
          stats.liquidations++
          const got = {
            marketId: Number(event.args.marketId),
            sizeClosed: event.args.sizeClosed,
            reward: event.args.reward,
          }
          const want = { marketId: q.marketId, sizeClosed: q.sizeClosed, reward: q.reward }
          if (JSON.stringify(got, big) !== JSON.stringify(want, big))
            liquidationMismatches.push(
              `${key}: predicted ${JSON.stringify(want, big)}, landed ${JSON.stringify(got, big)}`,
            )
        } else liquidationMismatches.push(`${key}: predicted a liquidation, the call reverted`)
        lastPush = t
      }
    }
    if ((step + 1) % checkpointEvery === 0 || step === options.steps - 1) {
      await sync()
      const result = await strategy.verify()
      stats.checkpoints++
      stats.mismatches += result.mismatches.length
      if (result.mismatches.length > 0)
        throw new Error(`checkpoint ${stats.checkpoints}: ${JSON.stringify(result.mismatches.slice(0, 3))}`)
    }
  }
  return { stats, liquidationMismatches }
}

const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)
