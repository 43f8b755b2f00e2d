/**
 * Aave 3.6 liquidation rules on chain, one account built for them: WETH worth ~$2090 and USDC $1500
 * as collateral, 3000 DAI of debt, HF 0.975. For (WETH, DAI) both sides exceed 2000 base units and
 * HF > 0.95, so at most half the debt; the Pool's maximum would leave ~$515 of WETH and reverts with
 * MustNotLeaveDust — the mirror says so first, and sizes the largest call that passes. For (USDC, DAI)
 * the collateral is under 2000 base units, so the whole position may go at HF > 0.95. Every landed
 * amount equals the mirror's prediction to the unit.
 */
import { encodeFunctionData, type Hex, maxUint256, parseEventLogs, parseUnits } from 'viem'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { callWrite, sendUnlocked, waitForReceipt } from '../../src/chain/rpc.js'
import { erc20Abi, poolAbi } from '../../strategies/aave-v3/abi.js'
import { buildMirror } from '../../strategies/aave-v3/buildMirror.js'
import {
  DEVNET_ADMIN,
  type AaveDevnet as Devnet,
  setPrice,
  startAaveDevnet,
} from '../../strategies/aave-v3/devnet/index.js'
import { giveGas, seededAccount, supplyFrom } from '../../strategies/aave-v3/devnet/seedAccounts.js'
import {
  createMarketView,
  type LiquidationQuote,
  liquidationQuotes,
  sizeLiquidation,
  userAccountData,
} from '../../strategies/aave-v3/math.js'
import type { MarketState } from '../../strategies/aave-v3/state.js'
import { revert, snapshot } from '../support/helpers.js'

let devnet: Devnet
const user = seededAccount(5151, 0)
const liquidator = seededAccount(5151, 1)

beforeAll(async () => {
  devnet = await startAaveDevnet({ accounts: 0, aave: '3.6' })
  const c = devnet.client
  await c.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
  await giveGas(c, user)
  await giveGas(c, liquidator)
  await supplyFrom(c, devnet.addresses, user, 'WETH', parseUnits('1.2', 18))
  await supplyFrom(c, devnet.addresses, user, 'USDC', parseUnits('1500', 6))
  await callWrite(c, user, devnet.addresses.pool, poolAbi, 'borrow', [
    asset('DAI'),
    parseUnits('3000', 18),
    2n,
    0,
    user,
  ])
  // (1.2·p·0.825 + 1500·0.80) / 3000 = 0.975  ⇒  p ≈ 1742.4
  await setPrice(devnet, 'WETH', '1742.4', c)
  await callWrite(c, DEVNET_ADMIN, asset('DAI'), erc20Abi, 'mint', [liquidator, parseUnits('10000', 18)])
  await callWrite(c, liquidator, asset('DAI'), erc20Abi, 'approve', [devnet.addresses.pool, maxUint256])
  setupState = await snapshot(c)
})
afterAll(async () => devnet?.stop())

// Each test starts from the account as built (anvil consumes a snapshot when reverting to it).
let setupState: Hex
beforeEach(async () => {
  if (!setupState) return
  await revert(devnet.client, setupState)
  setupState = await snapshot(devnet.client)
})

function asset(symbol: string) {
  const reserve = devnet.addresses.reserves[symbol]
  if (!reserve) throw new Error(`no ${symbol}`)
  return reserve.asset
}

async function mirrorAtNextBlock() {
  const { market } = await buildMirror(devnet.client, {
    addressesProvider: devnet.addresses.addressesProvider,
    multicallAddress: devnet.addresses.batchReader,
    fromBlock: 0n,
  })
  const next = market.block.timestamp + 1n
  const view = createMarketView(market, next)
  const position = market.accounts.get(user.toLowerCase())
  if (!position) throw new Error('no position')
  return { market, view, position, account: userAccountData(view, position), next }
}

async function liquidate(next: bigint, collateral: string, requested: bigint) {
  await devnet.client.request({
    method: 'evm_setNextBlockTimestamp',
    params: [`0x${next.toString(16)}`],
  } as never)
  const hash = await sendUnlocked(devnet.client, {
    from: liquidator,
    to: devnet.addresses.pool,
    data: encodeFunctionData({
      abi: poolAbi,
      functionName: 'liquidationCall',
      args: [asset(collateral), asset('DAI'), user, requested, false],
    }),
    gas: 3_000_000n,
  })
  return waitForReceipt(devnet.client, hash as Hex)
}

function landed(receipt: Awaited<ReturnType<typeof liquidate>>) {
  const [event] = parseEventLogs({ abi: poolAbi, eventName: 'LiquidationCall', logs: receipt.logs })
  return { debt: event?.args.debtToCover, collateral: event?.args.liquidatedCollateralAmount }
}

const predicted = (q: LiquidationQuote | undefined) => ({
  debt: q?.debtToCover,
  collateral: q?.collateralReceived,
})

const idOf = (market: MarketState, symbol: string) =>
  market.reserves.get(asset(symbol).toLowerCase())?.id as number

describe('Aave 3.6 liquidation sizing on chain', () => {
  it('predicts the dust revert of the maximum call and lands the largest call that leaves no dust', async () => {
    const { market, view, position, account, next } = await mirrorAtNextBlock()
    expect(account.healthFactor).toBeGreaterThan(95n * 10n ** 16n)
    expect(account.healthFactor).toBeLessThan(10n ** 18n)
    const weth = idOf(market, 'WETH')
    const dai = idOf(market, 'DAI')
    expect(sizeLiquidation(view, position, account, weth, dai, maxUint256)?.leavesDust).toBe(true)
    const id = await snapshot(devnet.client)
    expect((await liquidate(next, 'WETH', maxUint256)).status).toBe('reverted')
    await revert(devnet.client, id)

    const quote = liquidationQuotes(view, position, account).find((q) => q.collateralAsset === asset('WETH'))
    expect(quote?.dustLimited).toBe(true)
    const receipt = await liquidate(next, 'WETH', quote?.callDebtToCover ?? 0n)
    expect(receipt.status).toBe('success')
    expect(landed(receipt)).toEqual(predicted(quote))
  })

  it('takes the whole debt at HF > 0.95 when the collateral is worth under 2000 base units', async () => {
    const { market, view, position, account, next } = await mirrorAtNextBlock()
    expect(account.healthFactor).toBeGreaterThan(95n * 10n ** 16n)
    expect(account.healthFactor).toBeLessThan(10n ** 18n)
    const sized = sizeLiquidation(
      view,
      position,
      account,
      idOf(market, 'USDC'),
      idOf(market, 'DAI'),
      maxUint256,
    )
    expect(sized?.leavesDust).toBe(false)
    expect(sized?.quote?.closeFactorBps).toBe(10_000n)
    const receipt = await liquidate(next, 'USDC', maxUint256)
    expect(receipt.status).toBe('success')
    expect(landed(receipt)).toEqual(predicted(sized?.quote))
    // All of the USDC collateral went (liquidator's share plus the protocol fee).
    const after = await mirrorAtNextBlock()
    expect(after.position.scaledCollateral[idOf(market, 'USDC')] ?? 0n).toBe(0n)
  })
})
