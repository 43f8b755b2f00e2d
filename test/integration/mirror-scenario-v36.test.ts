/**
 * The same randomized exactness scenario on Aave v3.6 (aave-v3-origin), plus what only v3.3+ has:
 * risk admins flipping eMode collateral and LTV-zero bitmaps and starting liquidation grace
 * periods; liquidations that leave bad debt (deficit), that take a whole small position at HF > 0.95,
 * and arbitrary ones the Pool refuses for dust or grace — each refusal predicted by the mirror before
 * it was sent. (Random portfolios rarely produce a dust-limited sizing; liquidation-v36.test.ts builds
 * one on purpose.)
 */
import { describe, expect, it } from 'vitest'
import { runMirrorScenario } from '../support/mirrorScenario.js'

describe('mirror exactness on a randomized scenario (Aave 3.6)', () => {
  it('agrees with the chain to the last unit, and predicts every liquidation outcome', async () => {
    const { stats, checkpoints, accountsChecked } = await runMirrorScenario({
      aave: '3.6',
      accounts: 200,
      seed: 7,
      steps: 3000,
      checkEvery: 150,
    })
    console.log(
      `scenario 3.6: ${stats.attempted} transactions, ${stats.succeeded} succeeded, ${checkpoints} checkpoints, ${accountsChecked} accounts`,
      stats.byKind,
      'refused as predicted:',
      stats.predictedReverts,
      'cases:',
      stats.cases,
    )
    expect(stats.succeeded).toBeGreaterThanOrEqual(2000)
    for (const kind of [
      'supply',
      'borrow',
      'repay',
      'withdraw',
      'transfer',
      'eMode',
      'eModeBitmap',
      'gracePeriod',
    ])
      expect(stats.byKind[kind] ?? 0, kind).toBeGreaterThan(0)
    expect(stats.liquidations.length).toBeGreaterThanOrEqual(50)
    for (const liquidation of stats.liquidations) expect(liquidation.actual).toEqual(liquidation.predicted)
    expect(stats.cases.deficit ?? 0, 'liquidations leaving bad debt').toBeGreaterThan(0)
    expect(stats.cases.fullCloseBelowThreshold ?? 0, '100% close factor below 2000 base').toBeGreaterThan(0)
    expect(stats.predictedReverts.dust ?? 0, 'dust reverts predicted').toBeGreaterThan(0)
    expect(stats.predictedReverts.grace ?? 0, 'grace-period reverts predicted').toBeGreaterThan(0)
  })
})
