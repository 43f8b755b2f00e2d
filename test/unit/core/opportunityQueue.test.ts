/** The opportunity heap: best first, one live entry per key, predicted entries win over block ones. */
import { describe, expect, it } from 'vitest'
import { createRandom } from '../../../src/devnet/random.js'
import { createOpportunityQueue } from '../../../src/queue/opportunityQueue.js'
import { opportunity, pendingTx } from '../../support/fakes.js'

const oracle = pendingTx(1, '0x00000000000000000000000000000000000000fe')

describe('opportunity queue', () => {
  it('pops in descending net profit over random inserts', () => {
    const random = createRandom(3)
    const q = createOpportunityQueue()
    const values: bigint[] = []
    for (let i = 0; i < 500; i++) {
      const v = BigInt(Math.floor(random() * 1e9))
      values.push(v)
      q.upsert(opportunity(`k${i}`, v))
    }
    const out: bigint[] = []
    for (let o = q.pop(); o; o = q.pop()) out.push(o.netProfitBase)
    expect(out).toEqual([...values].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)))
  })

  it('re-ranking a key keeps one live entry, at its latest value', () => {
    const q = createOpportunityQueue()
    q.upsert(opportunity('a', 10n))
    q.upsert(opportunity('b', 5n))
    q.upsert(opportunity('a', 1n))
    expect(q.size).toBe(2)
    expect(q.pop()?.key).toBe('b')
    expect(q.pop()).toMatchObject({ key: 'a', netProfitBase: 1n })
    expect(q.pop()).toBeUndefined()
  })

  it('two positions of one account are two keys', () => {
    const q = createOpportunityQueue()
    q.upsert(opportunity('0xacc:ETH-PERP', 3n))
    q.upsert(opportunity('0xacc:BTC-PERP', 4n))
    expect([q.pop()?.key, q.pop()?.key]).toEqual(['0xacc:BTC-PERP', '0xacc:ETH-PERP'])
  })

  it('a block plan never replaces a pending-oracle plan for the same key', () => {
    const q = createOpportunityQueue()
    q.upsert(opportunity('a', 5n, { dependsOn: oracle }))
    q.upsert(opportunity('a', 50n))
    expect(q.pop()?.dependsOn).toBe(oracle)
  })

  it('clearBlockEntries drops block plans and predicted plans from before the given block', () => {
    const q = createOpportunityQueue()
    q.upsert(opportunity('block', 5n, { blockNumber: 10n }))
    q.upsert(opportunity('old', 5n, { dependsOn: oracle, blockNumber: 9n }))
    q.upsert(opportunity('fresh', 5n, { dependsOn: oracle, blockNumber: 10n }))
    q.clearBlockEntries(10n)
    expect(q.size).toBe(1)
    expect(q.pop()?.key).toBe('fresh')
  })
})
