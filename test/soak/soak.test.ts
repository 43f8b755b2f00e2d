/** The CI soak (3 minutes behind every fault kind; `npm run soak -- --minutes N` runs it longer). */
import { describe, expect, it } from 'vitest'
import { formatSoak, runSoak } from '../support/soak.js'

describe('soak', () => {
  it('loses nothing behind every fault for 3 minutes', async () => {
    const figures = await runSoak({ minutes: Number(process.env.SOAK_MINUTES ?? 3) })
    console.log(formatSoak(figures))
    for (const kind of [
      'drop',
      'http429',
      'http502',
      'rpcRateLimit',
      'truncated',
      'garbled',
      'wsCut',
      'wsSilence',
    ])
      expect(figures.faults[kind] ?? 0, kind).toBeGreaterThan(0)
    expect(figures.liquidations).toBeGreaterThan(0)
    expect(figures.openAfter).toBe(0)
    expect(figures.duplicates).toBe(0)
    // A revert is not a loss: with the socket cut or silenced (faults), a price that moved back up
    // in the mempool can land before a liquidation already sent. Bounded, and never a duplicate.
    expect(figures.reverted).toBeLessThanOrEqual(Math.max(1, Math.floor(figures.liquidations / 4)))
    expect(figures.mismatches).toBe(0)
    expect(figures.balanceMismatches).toBe(0)
    expect(figures.headLag).toBe(0n)
    expect(figures.heapEndMb - figures.heapStartMb).toBeLessThan(200)
  }, 330_000)
})
