/**
 * The devnet market is the real Aave v3.0.2 from npm artifacts: these tests drive it through every
 * basic operation and assert the balances the chain reports after each one.
 */
import { type Address, maxUint256, parseEventLogs, parseUnits } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { callWrite } from '../../src/chain/rpc.js'
import { erc20Abi, poolAbi, scaledTokenAbi } from '../../strategies/aave-v3/abi.js'
import {
  DEVNET_ADMIN,
  type AaveDevnet as Devnet,
  setPrice,
  startAaveDevnet,
} from '../../strategies/aave-v3/devnet/index.js'
import { giveGas, seededAccount, supplyFrom } from '../../strategies/aave-v3/devnet/seedAccounts.js'
import { revert, snapshot } from '../support/helpers.js'

let devnet: Devnet
let snap: `0x${string}`
const WAD = 10n ** 18n

beforeAll(async () => {
  devnet = await startAaveDevnet({ accounts: 0, aave: '3.0' })
  await devnet.client.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
})
afterAll(async () => devnet?.stop())
beforeEach(async () => {
  snap = await snapshot(devnet.client)
  await giveGas(devnet.client, user)
  await giveGas(devnet.client, liquidator)
})
afterEach(async () => revert(devnet.client, snap))

const user = seededAccount(9999, 0)
const liquidator = seededAccount(9999, 1)
const r = (symbol: string) => {
  const reserve = devnet.addresses.reserves[symbol]
  if (!reserve) throw new Error(symbol)
  return reserve
}
const balanceOf = (token: Address, who: Address) =>
  devnet.client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [who] })
const accountData = (who: Address) =>
  devnet.client.readContract({
    address: devnet.addresses.pool,
    abi: poolAbi,
    functionName: 'getUserAccountData',
    args: [who],
  })
const pool = () => devnet.addresses.pool

describe('devnet market', () => {
  it('supply, borrow, repay and withdraw move the real balances', async () => {
    const c = devnet.client
    const tenEth = parseUnits('10', 18)
    await supplyFrom(c, devnet.addresses, user, 'WETH', tenEth)
    expect(await balanceOf(r('WETH').aToken, user)).toBe(tenEth)
    expect(await balanceOf(r('WETH').asset, user)).toBe(0n)
    const [collateral, debt] = await accountData(user)
    expect(collateral).toBe(10n * 2000n * 10n ** 8n)
    expect(debt).toBe(0n)

    const borrowed = parseUnits('5000', 6)
    await callWrite(c, user, pool(), poolAbi, 'borrow', [r('USDC').asset, borrowed, 2n, 0, user])
    expect(await balanceOf(r('USDC').asset, user)).toBe(borrowed)
    expect(await balanceOf(r('USDC').variableDebtToken, user)).toBeGreaterThanOrEqual(borrowed)

    await callWrite(c, user, r('USDC').asset, erc20Abi, 'mint', [user, parseUnits('10', 6)])
    await callWrite(c, user, r('USDC').asset, erc20Abi, 'approve', [pool(), maxUint256])
    const repayReceipt = await callWrite(c, user, pool(), poolAbi, 'repay', [
      r('USDC').asset,
      maxUint256,
      2n,
      user,
    ])
    const [repayEvent] = parseEventLogs({ abi: poolAbi, eventName: 'Repay', logs: repayReceipt.logs })
    expect(repayEvent?.args.amount).toBeGreaterThanOrEqual(borrowed)
    expect(await balanceOf(r('USDC').variableDebtToken, user)).toBe(0n)
    expect(await balanceOf(r('USDC').asset, user)).toBe(
      borrowed + parseUnits('10', 6) - (repayEvent?.args.amount ?? 0n),
    )

    await callWrite(c, user, pool(), poolAbi, 'withdraw', [r('WETH').asset, maxUint256, user])
    expect(await balanceOf(r('WETH').aToken, user)).toBe(0n)
    expect(await balanceOf(r('WETH').asset, user)).toBeGreaterThanOrEqual(tenEth)
    expect((await accountData(user))[5]).toBe(maxUint256)
  })

  it('an eMode borrower gets the category LTV and price source', async () => {
    const c = devnet.client
    await supplyFrom(c, devnet.addresses, user, 'wstETH', parseUnits('10', 18))
    const [, , , thresholdBefore, ltvBefore] = await accountData(user)
    expect(ltvBefore).toBe(6900n)
    expect(thresholdBefore).toBe(8000n)
    await callWrite(c, user, pool(), poolAbi, 'setUserEMode', [2])
    const [collateral, , , threshold, ltv] = await accountData(user)
    expect(ltv).toBe(9000n)
    expect(threshold).toBe(9300n)
    // Category 2's price source is WETH: 10 wstETH are valued at the WETH price (2000), not 2300.
    expect(collateral).toBe(10n * 2000n * 10n ** 8n)
    // 8.9 WETH = 89% of the collateral: above the reserve LTV, allowed by the eMode LTV of 90%.
    await callWrite(c, user, pool(), poolAbi, 'borrow', [r('WETH').asset, parseUnits('8.9', 18), 2n, 0, user])
    expect(await balanceOf(r('WETH').asset, user)).toBe(parseUnits('8.9', 18))
  })

  it('a price update through the aggregator changes the health factor, and a liquidation then succeeds', async () => {
    const c = devnet.client
    await supplyFrom(c, devnet.addresses, user, 'WETH', parseUnits('10', 18))
    await callWrite(c, user, pool(), poolAbi, 'borrow', [
      r('USDC').asset,
      parseUnits('15500', 6),
      2n,
      0,
      user,
    ])
    const hfBefore = (await accountData(user))[5]
    expect(hfBefore).toBeGreaterThan(WAD)

    const receipt = await setPrice(devnet, 'WETH', '1800', c)
    expect(receipt.logs.some((log) => log.address.toLowerCase() === r('WETH').aggregator.toLowerCase())).toBe(
      true,
    )
    const hfAfter = (await accountData(user))[5]
    expect(hfAfter).toBeLessThan(WAD)

    await callWrite(c, DEVNET_ADMIN, r('USDC').asset, erc20Abi, 'mint', [liquidator, parseUnits('100000', 6)])
    await callWrite(c, liquidator, r('USDC').asset, erc20Abi, 'approve', [pool(), maxUint256])
    const debtBefore = await balanceOf(r('USDC').variableDebtToken, user)
    const aBefore = await devnet.client.readContract({
      address: r('WETH').aToken,
      abi: scaledTokenAbi,
      functionName: 'balanceOf',
      args: [user],
    })
    const repay = parseUnits('5000', 6)
    await callWrite(c, liquidator, pool(), poolAbi, 'liquidationCall', [
      r('WETH').asset,
      r('USDC').asset,
      user,
      repay,
      false,
    ])
    expect(await balanceOf(r('USDC').asset, liquidator)).toBe(parseUnits('95000', 6))
    const seized = await balanceOf(r('WETH').asset, liquidator)
    // 5000 USDC at 1800 USD/WETH with a 5% bonus, less the 10% protocol share of the bonus: ~2.9 WETH.
    expect(seized).toBeGreaterThan(parseUnits('2.9', 18))
    expect(seized).toBeLessThan(parseUnits('2.92', 18))
    expect(debtBefore - (await balanceOf(r('USDC').variableDebtToken, user))).toBeGreaterThanOrEqual(
      repay - 1n,
    )
    expect(aBefore - (await balanceOf(r('WETH').aToken, user))).toBeGreaterThan(seized)
  })
})

describe('devnet block time', () => {
  it('mines sub-second blocks (anvil takes whole seconds; the devnet mines 250 ms itself)', async () => {
    const fast = await startAaveDevnet({ accounts: 0, blockTimeSeconds: 0.25 })
    try {
      const first = await fast.client.getBlockNumber({ cacheTime: 0 })
      const started = Date.now()
      let now = first
      while (now - first < 8n && Date.now() - started < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        now = await fast.client.getBlockNumber({ cacheTime: 0 })
      }
      expect(now - first).toBeGreaterThanOrEqual(8n)
      // Eight blocks take 2 s at 250 ms, and 8 s at anvil's smallest interval (1 s).
      expect(Date.now() - started).toBeLessThan(6_000)
    } finally {
      await fast.stop()
    }
  })
})
