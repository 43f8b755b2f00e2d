/**
 * The mirror's exactness on a randomized history: 200 seeded borrowers, thousands of operations of
 * every kind, prices and time moving; at many blocks along the way every account's mirror equals
 * Pool.getUserAccountData in every field, and every liquidation's size equals the mirror's prediction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { giveGas, seededAccount } from '../../src/devnet/seedAccounts.js'
import { type Devnet, startDevnet } from '../../src/devnet/startDevnet.js'
import { advanceMirror, buildMirror } from '../../strategies/aave-v3/buildMirror.js'
import type { MarketState } from '../../strategies/aave-v3/state.js'
import { verifyMirror } from '../../strategies/aave-v3/verifyMirror.js'
import { createScenario } from '../scenario.js'

let devnet: Devnet
beforeAll(async () => {
  devnet = await startDevnet({ accounts: 200, seed: 7 })
})
afterAll(async () => devnet?.stop())

describe('mirror exactness on a randomized scenario', () => {
  it('agrees with getUserAccountData to the last unit at every checkpoint', async () => {
    const params = {
      addressesProvider: devnet.addresses.addressesProvider,
      multicallAddress: devnet.addresses.batchReader,
    }
    const { market: built } = await buildMirror(devnet.client, { ...params, fromBlock: 0n })
    let market: MarketState = built
    const initial = await verifyMirror(devnet.client, market, params)
    expect(initial.checked).toBeGreaterThanOrEqual(201)
    expect(initial.mismatches).toEqual([])

    const liquidator = seededAccount(424242, 0)
    await giveGas(devnet.client, liquidator)
    const scenario = createScenario(devnet, () => market, 11, liquidator)
    let checkpoints = 0
    for (let i = 1; i <= 3000; i++) {
      await scenario.step()
      // The liquidation step reads the mirror, so keep it current every step (one eth_getLogs).
      await advanceMirror(devnet.client, market, await devnet.client.getBlockNumber({ cacheTime: 0 }), params)
      if (i % 150 === 0) {
        const result = await verifyMirror(devnet.client, market, params)
        checkpoints++
        expect(result.mismatches, `checkpoint at block ${result.blockNumber}`).toEqual([])
      }
    }
    market = market as MarketState
    const final = await verifyMirror(devnet.client, market, params)
    expect(final.mismatches).toEqual([])
    const { stats } = scenario
    console.log(
      `scenario: ${stats.attempted} transactions, ${stats.succeeded} succeeded, ${checkpoints} checkpoints, ${final.checked} accounts`,
      stats.byKind,
    )
    expect(stats.succeeded).toBeGreaterThanOrEqual(2000)
    for (const kind of [
      'supply',
      'borrow',
      'repay',
      'repayWithATokens',
      'withdraw',
      'transfer',
      'collateralToggle',
      'eMode',
      'price',
      'timeJump',
    ]) {
      expect(stats.byKind[kind] ?? 0, kind).toBeGreaterThan(0)
    }
    expect(stats.liquidations.length).toBeGreaterThanOrEqual(10)
    for (const liquidation of stats.liquidations) expect(liquidation.actual).toEqual(liquidation.predicted)
  })
})
