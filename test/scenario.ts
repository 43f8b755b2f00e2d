/**
 * A randomized market scenario on the devnet: seeded actors perform every kind of operation that
 * changes an Aave position, prices move, time jumps, and a liquidator works the underwater accounts.
 * Reverted transactions are part of the scenario (they are real attempts); they change nothing.
 */
import {
  type Address,
  encodeFunctionData,
  type Hex,
  maxUint256,
  type PublicClient,
  parseEventLogs,
  toHex,
} from 'viem'
import { sendUnlocked, waitForReceipt } from '../src/chain/rpc.js'
import { createRandom } from '../src/devnet/seedAccounts.js'
import { DEVNET_ADMIN, type Devnet, setPrice } from '../src/devnet/startDevnet.js'
import { erc20Abi, poolAbi } from '../strategies/aave-v3/abi.js'
import {
  createMarketView,
  isBorrowing,
  isUsingAsCollateral,
  liquidationQuotes,
  quoteLiquidation,
  userAccountData,
} from '../strategies/aave-v3/math.js'
import type { MarketState, ReserveState } from '../strategies/aave-v3/state.js'

export interface ScenarioStats {
  attempted: number
  succeeded: number
  byKind: Record<string, number>
  liquidations: {
    predicted: { debt: bigint; collateral: bigint }
    actual: { debt: bigint; collateral: bigint }
  }[]
}

export interface Scenario {
  step(): Promise<void>
  stats: ScenarioStats
}

export function createScenario(
  devnet: Devnet,
  getMarket: () => MarketState,
  seed: number,
  liquidator: Address,
): Scenario {
  const random = createRandom(seed)
  const client: PublicClient = devnet.client
  const accounts = devnet.accounts
  const pool = devnet.addresses.pool
  const reserves = Object.entries(devnet.addresses.reserves)
  const stats: ScenarioStats = { attempted: 0, succeeded: 0, byKind: {}, liquidations: [] }
  const initialPrice = new Map<string, number>()
  const approved = new Set<string>()

  const pickAccount = () => accounts[Math.floor(random() * accounts.length)] as Address
  const pickReserve = () => reserves[Math.floor(random() * reserves.length)] as (typeof reserves)[number]
  const reserveState = (asset: Address): ReserveState =>
    getMarket().reserves.get(asset.toLowerCase()) as ReserveState

  async function send(kind: string, from: Address, to: Address, data: Hex): Promise<boolean> {
    stats.attempted++
    const hash = await sendUnlocked(client, { from, to, data, gas: 2_000_000n })
    const receipt = await waitForReceipt(client, hash)
    if (receipt.status === 'success') {
      stats.succeeded++
      stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1
    }
    return receipt.status === 'success'
  }

  async function fund(account: Address, asset: Address, amount: bigint) {
    await send(
      'mint',
      DEVNET_ADMIN,
      asset,
      encodeFunctionData({ abi: erc20Abi, functionName: 'mint', args: [account, amount] }),
    )
    const key = `${account}:${asset}`
    if (!approved.has(key)) {
      approved.add(key)
      await send(
        'approve',
        account,
        asset,
        encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [pool, maxUint256] }),
      )
    }
  }

  const view = () => createMarketView(getMarket(), getMarket().block.timestamp)
  const position = (account: Address) => getMarket().accounts.get(account.toLowerCase())
  const tokensForUsd = (reserve: ReserveState, usdE8: bigint) => {
    const price = getMarket().prices.get(reserve.asset.toLowerCase()) ?? 1n
    return (usdE8 * 10n ** BigInt(reserve.decimals)) / price
  }

  const ops: [number, string, () => Promise<void>][] = [
    [
      14,
      'supply',
      async () => {
        const account = pickAccount()
        const [, r] = pickReserve()
        const amount = tokensForUsd(
          reserveState(r.asset),
          BigInt(Math.floor(100 + random() * 20_000)) * 10n ** 8n,
        )
        await fund(account, r.asset, amount)
        await send(
          'supply',
          account,
          pool,
          encodeFunctionData({ abi: poolAbi, functionName: 'supply', args: [r.asset, amount, account, 0] }),
        )
      },
    ],
    [
      14,
      'borrow',
      async () => {
        const account = pickAccount()
        const p = position(account)
        if (!p) return
        const data = userAccountData(view(), p)
        const [, r] = pickReserve()
        const amount = tokensForUsd(
          reserveState(r.asset),
          (data.availableBorrowsBase * BigInt(Math.floor(random() * 1000))) / 1000n,
        )
        if (amount === 0n) return
        await send(
          'borrow',
          account,
          pool,
          encodeFunctionData({
            abi: poolAbi,
            functionName: 'borrow',
            args: [r.asset, amount, 2n, 0, account],
          }),
        )
      },
    ],
    [
      10,
      'repay',
      async () => {
        const account = pickAccount()
        const p = position(account)
        const [, r] = pickReserve()
        const reserve = reserveState(r.asset)
        if (!p || !isBorrowing(p, reserve.id)) return
        const full = random() < 0.3
        const debt = (p.scaledDebt[reserve.id] ?? 0n) * 2n + 10n ** BigInt(reserve.decimals)
        await fund(account, r.asset, debt)
        const amount = full
          ? maxUint256
          : ((p.scaledDebt[reserve.id] ?? 0n) * BigInt(Math.floor(random() * 900 + 50))) / 1000n
        await send(
          'repay',
          account,
          pool,
          encodeFunctionData({ abi: poolAbi, functionName: 'repay', args: [r.asset, amount, 2n, account] }),
        )
      },
    ],
    [
      5,
      'repayWithATokens',
      async () => {
        const account = pickAccount()
        const p = position(account)
        const [, r] = pickReserve()
        const reserve = reserveState(r.asset)
        if (!p || !isBorrowing(p, reserve.id)) return
        if ((p.scaledCollateral[reserve.id] ?? 0n) === 0n) {
          const amount = (p.scaledDebt[reserve.id] ?? 0n) / 2n + 1n
          await fund(account, r.asset, amount)
          await send(
            'supply',
            account,
            pool,
            encodeFunctionData({ abi: poolAbi, functionName: 'supply', args: [r.asset, amount, account, 0] }),
          )
        }
        const amount =
          random() < 0.4
            ? maxUint256
            : ((p.scaledDebt[reserve.id] ?? 0n) * BigInt(Math.floor(random() * 800 + 100))) / 1000n
        await send(
          'repayWithATokens',
          account,
          pool,
          encodeFunctionData({ abi: poolAbi, functionName: 'repayWithATokens', args: [r.asset, amount, 2n] }),
        )
      },
    ],
    [
      9,
      'withdraw',
      async () => {
        const account = pickAccount()
        const p = position(account)
        const [, r] = pickReserve()
        const reserve = reserveState(r.asset)
        if (!p || (p.scaledCollateral[reserve.id] ?? 0n) === 0n) return
        const amount =
          random() < 0.3
            ? maxUint256
            : ((p.scaledCollateral[reserve.id] ?? 0n) * BigInt(Math.floor(random() * 500 + 10))) / 1000n
        await send(
          'withdraw',
          account,
          pool,
          encodeFunctionData({ abi: poolAbi, functionName: 'withdraw', args: [r.asset, amount, account] }),
        )
      },
    ],
    [
      7,
      'transfer',
      async () => {
        const account = pickAccount()
        const p = position(account)
        const [, r] = pickReserve()
        const reserve = reserveState(r.asset)
        if (!p || (p.scaledCollateral[reserve.id] ?? 0n) === 0n) return
        const amount =
          random() < 0.2
            ? (p.scaledCollateral[reserve.id] ?? 0n)
            : ((p.scaledCollateral[reserve.id] ?? 0n) * BigInt(Math.floor(random() * 600 + 10))) / 1000n
        await send(
          'transfer',
          account,
          r.aToken,
          encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [pickAccount(), amount] }),
        )
      },
    ],
    [
      6,
      'collateralToggle',
      async () => {
        const account = pickAccount()
        const p = position(account)
        const [, r] = pickReserve()
        const reserve = reserveState(r.asset)
        if (!p || (p.scaledCollateral[reserve.id] ?? 0n) === 0n) return
        await send(
          'collateralToggle',
          account,
          pool,
          encodeFunctionData({
            abi: poolAbi,
            functionName: 'setUserUseReserveAsCollateral',
            args: [r.asset, !isUsingAsCollateral(p, reserve.id)],
          }),
        )
      },
    ],
    [
      4,
      'eMode',
      async () => {
        const account = pickAccount()
        await send(
          'eMode',
          account,
          pool,
          encodeFunctionData({
            abi: poolAbi,
            functionName: 'setUserEMode',
            args: [Math.floor(random() * 3)],
          }),
        )
      },
    ],
    [
      8,
      'price',
      async () => {
        const [symbol, r] = pickReserve()
        const current = Number(getMarket().prices.get(r.asset.toLowerCase()) ?? 0n) / 1e8
        if (!initialPrice.has(symbol)) initialPrice.set(symbol, current)
        const start = initialPrice.get(symbol) as number
        let next = current * (1 + (random() - 0.55) * 0.2)
        next = Math.min(Math.max(next, start * 0.4), start * 2.5)
        stats.attempted++
        await setPrice(devnet, symbol, next.toFixed(6), client)
        stats.succeeded++
        stats.byKind.price = (stats.byKind.price ?? 0) + 1
      },
    ],
    [
      5,
      'timeJump',
      async () => {
        const roll = random()
        const seconds =
          roll < 0.6
            ? 60 + Math.floor(random() * 3600)
            : roll < 0.95
              ? 3600 + Math.floor(random() * 30 * 86400)
              : 365 * 86400
        await client.request({ method: 'evm_increaseTime', params: [toHex(seconds)] } as never)
        await client.request({ method: 'evm_mine', params: [] } as never)
        stats.byKind.timeJump = (stats.byKind.timeJump ?? 0) + 1
      },
    ],
    [
      10,
      'liquidation',
      async () => {
        const market = getMarket()
        const next = market.block.timestamp + 1n
        const v = createMarketView(market, next)
        const underwater = [...market.accounts.entries()].filter(
          ([key, p]) =>
            key !== liquidator.toLowerCase() &&
            p.config !== 0n &&
            userAccountData(v, p).healthFactor < 10n ** 18n,
        )
        if (underwater.length === 0) return
        const [key, p] = underwater[Math.floor(random() * underwater.length)] as (typeof underwater)[number]
        const quotes = liquidationQuotes(v, p)
        const best = quotes[Math.floor(random() * quotes.length)]
        if (!best) return
        const collateral = reserveState(best.collateralAsset)
        const debt = reserveState(best.debtAsset)
        const requested =
          random() < 0.5
            ? maxUint256
            : (best.debtToCover * BigInt(Math.floor(random() * 900 + 50))) / 1000n + 1n
        const hf = userAccountData(v, p).healthFactor
        const predicted = quoteLiquidation(v, p, hf, collateral.id, debt.id, requested)
        if (!predicted) return
        await fund(liquidator, best.debtAsset, predicted.debtToCover + 1n)
        const receiveAToken = random() < 0.3
        await client.request({ method: 'evm_setNextBlockTimestamp', params: [toHex(next)] } as never)
        stats.attempted++
        const hash = await sendUnlocked(client, {
          from: liquidator,
          to: pool,
          data: encodeFunctionData({
            abi: poolAbi,
            functionName: 'liquidationCall',
            args: [best.collateralAsset, best.debtAsset, key as Address, requested, receiveAToken],
          }),
          gas: 2_000_000n,
        })
        const receipt = await waitForReceipt(client, hash)
        if (receipt.status !== 'success')
          throw new Error(`liquidation the mirror predicted reverted (${key})`)
        stats.succeeded++
        stats.byKind.liquidation = (stats.byKind.liquidation ?? 0) + 1
        const [event] = parseEventLogs({ abi: poolAbi, eventName: 'LiquidationCall', logs: receipt.logs })
        stats.liquidations.push({
          predicted: { debt: predicted.debtToCover, collateral: predicted.collateralReceived },
          actual: {
            debt: event?.args.debtToCover ?? -1n,
            collateral: event?.args.liquidatedCollateralAmount ?? -1n,
          },
        })
      },
    ],
  ]
  const totalWeight = ops.reduce((sum, [w]) => sum + w, 0)

  return {
    stats,
    async step() {
      let roll = random() * totalWeight
      for (const [weight, , run] of ops) {
        roll -= weight
        if (roll <= 0) {
          await run()
          return
        }
      }
    },
  }
}
