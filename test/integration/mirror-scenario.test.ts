/**
 * The mirror's exactness on a randomized history on Aave v3.0 (@aave/core-v3): 200 seeded borrowers,
 * thousands of operations of every kind, prices and time moving; at many blocks every account's
 * mirror equals Pool.getUserAccountData in every field and every scaled balance equals
 * scaledBalanceOf, and every liquidation's size equals the mirror's prediction.
 */
import { describe, expect, it } from 'vitest'
import { runMirrorScenario } from '../support/mirrorScenario.js'

const EVERY_KIND = [
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
]

describe('mirror exactness on a randomized scenario (Aave 3.0)', () => {
  it('agrees with the chain to the last unit at every checkpoint', async () => {
    const { stats, checkpoints, accountsChecked } = await runMirrorScenario({
      aave: '3.0',
      accounts: 200,
      seed: 7,
      steps: 3000,
      checkEvery: 150,
    })
    console.log(
      `scenario 3.0: ${stats.attempted} transactions, ${stats.succeeded} succeeded, ${checkpoints} checkpoints, ${accountsChecked} accounts`,
      stats.byKind,
    )
    expect(stats.succeeded).toBeGreaterThanOrEqual(2000)
    for (const kind of EVERY_KIND) expect(stats.byKind[kind] ?? 0, kind).toBeGreaterThan(0)
    expect(stats.liquidations.length).toBeGreaterThanOrEqual(10)
    for (const liquidation of stats.liquidations) expect(liquidation.actual).toEqual(liquidation.predicted)
  })
})
