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
  parseAbi,
  parseEventLogs,
  toHex,
} from 'viem'
import { sendUnlocked, waitForReceipt } from '../../src/chain/rpc.js'
import { createRandom } from '../../src/devnet/random.js'
import { erc20Abi, poolAbi } from '../../strategies/aave-v3/abi.js'
import { DEVNET_ADMIN, type AaveDevnet as Devnet, setPrice } from '../../strategies/aave-v3/devnet/index.js'
import {
  createMarketView,
  isBorrowing,
  isUsingAsCollateral,
  liquidationQuotes,
  sizeLiquidation,
  userAccountData,
  variableDebtBalance,
} from '../../strategies/aave-v3/math.js'
import { inGracePeriodV3_1 } from '../../strategies/aave-v3/rules.js'
import type { MarketState, ReserveState } from '../../strategies/aave-v3/state.js'

const configuratorAbiV3_6 = parseAbi([
  'function setAssetLtvzeroInEMode(address asset, uint8 categoryId, bool ltvzero)',
  'function setAssetCollateralInEMode(address asset, uint8 categoryId, bool allowed)',
  'function setReservePause(address asset, bool paused, uint40 gracePeriod)',
])

export interface ScenarioStats {
  attempted: number
  succeeded: number
  byKind: Record<string, number>
  liquidations: {
    predicted: { debt: bigint; collateral: bigint; deficit: bigint }
    actual: { debt: bigint; collateral: bigint; deficit: bigint }
  }[]
  /** Liquidations the mirror said the Pool would refuse, by reason; each one did revert. */
  predictedReverts: Record<string, number>
  /** Landed liquidations of the kinds the v3.3+ rules single out. */
  cases: Record<string, number>
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
  const stats: ScenarioStats = {
    attempted: 0,
    succeeded: 0,
    byKind: {},
    liquidations: [],
    predictedReverts: {},
    cases: {},
  }
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

  /** v3.6 risk-admin moves: eMode LTV-zero and collateral bitmaps, liquidation grace periods. */
  function adminOpsV3_6(): [number, string, () => Promise<void>][] {
    const configurator = devnet.addresses.poolConfigurator
    const categories = () => [...getMarket().eModes.values()]
    return [
      [
        2,
        'eModeBitmap',
        async () => {
          const category = categories()[Math.floor(random() * categories().length)]
          const [, r] = pickReserve()
          if (!category) return
          const id = reserveState(r.asset).id
          const inCollateral = (((category.collateralBitmap ?? 0n) >> BigInt(id)) & 1n) === 1n
          const ltvzero = (((category.ltvzeroBitmap ?? 0n) >> BigInt(id)) & 1n) === 1n
          const data =
            inCollateral && random() < 0.8
              ? encodeFunctionData({
                  abi: configuratorAbiV3_6,
                  functionName: 'setAssetLtvzeroInEMode',
                  args: [r.asset, category.id, !ltvzero],
                })
              : encodeFunctionData({
                  abi: configuratorAbiV3_6,
                  functionName: 'setAssetCollateralInEMode',
                  args: [r.asset, category.id, !inCollateral],
                })
          await send('eModeBitmap', DEVNET_ADMIN, configurator, data)
        },
      ],
      [
        1,
        'gracePeriod',
        async () => {
          const [, r] = pickReserve()
          const seconds = 30 + Math.floor(random() * 600)
          await send(
            'gracePeriod',
            DEVNET_ADMIN,
            configurator,
            encodeFunctionData({
              abi: configuratorAbiV3_6,
              functionName: 'setReservePause',
              args: [r.asset, false, seconds],
            }),
          )
        },
      ],
    ]
  }

  /** A random account and reserve, when the account borrows it or has it supplied. */
  function pickHolding(kind: 'collateral' | 'debt') {
    const account = pickAccount()
    const p = position(account)
    const [, r] = pickReserve()
    const reserve = reserveState(r.asset)
    if (!p) return undefined
    const holds = kind === 'debt' ? isBorrowing(p, reserve.id) : (p.scaledCollateral[reserve.id] ?? 0n) > 0n
    return holds ? { account, p, r, reserve } : undefined
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
        const holding = pickHolding('debt')
        if (!holding) return
        const { account, p, r, reserve } = holding
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
        const holding = pickHolding('debt')
        if (!holding) return
        const { account, p, r, reserve } = holding
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
        const holding = pickHolding('collateral')
        if (!holding) return
        const { account, p, r, reserve } = holding
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
        const holding = pickHolding('collateral')
        if (!holding) return
        const { account, p, r, reserve } = holding
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
        const holding = pickHolding('collateral')
        if (!holding) return
        const { account, p, r, reserve } = holding
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
        const account = userAccountData(v, p)
        // Half the time the sizing's own pick (the Pool's maximum or the dust-limited amount);
        // otherwise any pair the account holds and an arbitrary amount, which the Pool may refuse.
        const quotes = liquidationQuotes(v, p)
        // Dust-limited sizings are rare and the ones most worth proving: take them when offered.
        const pick = quotes.find((q) => q.dustLimited) ?? quotes[Math.floor(random() * quotes.length)]
        let collateral: ReserveState
        let debt: ReserveState
        let requested: bigint
        if (pick && random() < 0.5) {
          collateral = reserveState(pick.collateralAsset)
          debt = reserveState(pick.debtAsset)
          requested = pick.callDebtToCover
        } else {
          const held = [...market.reserves.values()]
          const collaterals = held.filter(
            (r) => isUsingAsCollateral(p, r.id) && (p.scaledCollateral[r.id] ?? 0n) > 0n,
          )
          const debts = held.filter((r) => isBorrowing(p, r.id) && (p.scaledDebt[r.id] ?? 0n) > 0n)
          if (collaterals.length === 0 || debts.length === 0) return
          collateral = collaterals[Math.floor(random() * collaterals.length)] as ReserveState
          debt = debts[Math.floor(random() * debts.length)] as ReserveState
          const owed = variableDebtBalance(v, p, debt.id)
          requested =
            random() < 0.4 ? maxUint256 : (owed * BigInt(Math.floor(random() * 1000 + 1))) / 1000n + 1n
        }
        const rules = v.rules
        const inGrace =
          rules.gracePeriods && (inGracePeriodV3_1(collateral, next) || inGracePeriodV3_1(debt, next))
        const sized = inGrace ? undefined : sizeLiquidation(v, p, account, collateral.id, debt.id, requested)
        const predictedRevert: string | undefined = inGrace ? 'grace' : sized?.leavesDust ? 'dust' : undefined
        const predicted = sized?.quote
        if (!predictedRevert && !predicted) return
        await fund(
          liquidator,
          debt.asset,
          (predicted?.debtToCover ?? variableDebtBalance(v, p, debt.id)) + 1n,
        )
        const receiveAToken = random() < 0.3
        await client.request({ method: 'evm_setNextBlockTimestamp', params: [toHex(next)] } as never)
        stats.attempted++
        const hash = await sendUnlocked(client, {
          from: liquidator,
          to: pool,
          data: encodeFunctionData({
            abi: poolAbi,
            functionName: 'liquidationCall',
            args: [collateral.asset, debt.asset, key as Address, requested, receiveAToken],
          }),
          gas: 3_000_000n,
        })
        const receipt = await waitForReceipt(client, hash)
        if (predictedRevert) {
          if (receipt.status === 'success')
            throw new Error(
              `liquidation the mirror predicted to revert (${predictedRevert}) succeeded (${key})`,
            )
          stats.predictedReverts[predictedRevert] = (stats.predictedReverts[predictedRevert] ?? 0) + 1
          return
        }
        if (receipt.status !== 'success')
          throw new Error(`liquidation the mirror predicted reverted (${key})`)
        if (!predicted) return
        stats.succeeded++
        stats.byKind.liquidation = (stats.byKind.liquidation ?? 0) + 1
        const [event] = parseEventLogs({ abi: poolAbi, eventName: 'LiquidationCall', logs: receipt.logs })
        const deficit = parseEventLogs({
          abi: poolAbi,
          eventName: 'DeficitCreated',
          logs: receipt.logs,
        }).find((e) => e.args.debtAsset.toLowerCase() === debt.asset.toLowerCase())
        const smallFullClose =
          rules.liquidation === 'v3.3' &&
          predicted.closeFactorBps === 10_000n &&
          account.healthFactor > 95n * 10n ** 16n
        for (const [flag, on] of [
          ['dustLimited', predicted.dustLimited && requested === pick?.callDebtToCover],
          ['deficit', predicted.createsDeficit],
          ['fullCloseBelowThreshold', smallFullClose],
        ] as const)
          if (on) stats.cases[flag] = (stats.cases[flag] ?? 0) + 1
        stats.liquidations.push({
          predicted: {
            debt: predicted.debtToCover,
            collateral: predicted.collateralReceived,
            deficit: predicted.deficit,
          },
          actual: {
            debt: event?.args.debtToCover ?? -1n,
            collateral: event?.args.liquidatedCollateralAmount ?? -1n,
            deficit: deficit?.args.amountCreated ?? 0n,
          },
        })
      },
    ],
    ...(getMarket().poolRevision >= 10n ? adminOpsV3_6() : []),
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
