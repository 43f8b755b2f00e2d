/**
 * The perps mirror against the clearinghouse's own accountHealth on a randomized scenario (2,000
 * operations on a real anvil), every liquidation by another account equal to its prediction, and
 * the strategy's indexed plan finding exactly the accounts that quoting every account finds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Devnet } from '../../src/devnet/startDevnet.js'
import { startDevnet } from '../../src/devnet/startDevnet.js'
import { xmarginPerps } from '../../strategies/xmargin-perps/index.js'
import { runPerpsScenario } from '../support/perpsScenario.js'

let devnet: Devnet
beforeAll(async () => {
  devnet = await startDevnet(
    { name: xmarginPerps.name, devnet: xmarginPerps.devnet as NonNullable<typeof xmarginPerps.devnet> },
    { accounts: 40, seed: 3 },
  )
})
afterAll(async () => devnet?.stop())

describe('xmargin-perps mirror', () => {
  it('equals accountHealth to the unit at every checkpoint, and predicts every liquidation exactly', async () => {
    const { stats, liquidationMismatches } = await runPerpsScenario(devnet, {
      steps: 2_000,
      seed: 11,
      checkpoints: 20,
    })
    console.log(JSON.stringify(stats))
    expect(stats.mismatches).toBe(0)
    expect(stats.checkpoints).toBeGreaterThanOrEqual(10)
    expect(liquidationMismatches).toEqual([])
    expect(stats.liquidations).toBeGreaterThanOrEqual(5)
    expect(stats.plans).toBeGreaterThan(50)
    expect(stats.timeJumps).toBeGreaterThan(0)
    expect(stats.offChainMoves).toBeGreaterThan(0)
    expect(stats.transactions - stats.reverted).toBeGreaterThan(1_000)
  })
})
