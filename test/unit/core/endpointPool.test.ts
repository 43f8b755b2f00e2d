/** The endpoint pool's health rules, from the heads each endpoint showed (no requests are made). */
import { describe, expect, it } from 'vitest'
import { createEndpointPool } from '../../../src/chain/endpointPool.js'

const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}`

describe('endpoint pool', () => {
  it('demotes an endpoint lagging more than maxLagBlocks, and restores it when it catches up', () => {
    const changes: [string, string | undefined][] = []
    const pool = createEndpointPool({
      urls: ['http://a.example/token', 'http://b.example'],
      chainId: 1,
      maxLagBlocks: 3,
      onDemotion: (endpoint, reason) => changes.push([endpoint, reason]),
    })
    pool.noteHead(0, 100n)
    pool.noteHead(1, 100n)
    pool.noteHead(0, 104n)
    expect(pool.health[1]?.demoted).toBe('lags 4 blocks')
    pool.noteHead(1, 102n)
    expect(pool.health[1]?.demoted).toBeUndefined()
    // Names carry the host, never the path where a token lives.
    expect(changes).toEqual([
      ['1:http://b.example', 'lags 4 blocks'],
      ['1:http://b.example', undefined],
    ])
    expect(pool.health[0]?.name).toBe('0:http://a.example/…')
  })

  it('demotes an endpoint that showed a block the canonical chain does not have, until it agrees again', () => {
    const pool = createEndpointPool({
      urls: ['http://a.example', 'http://b.example'],
      chainId: 1,
      maxLagBlocks: 3,
    })
    pool.noteHead(0, 10n, h(10))
    pool.noteHead(1, 10n, h(0xbad))
    pool.noteCanonical(10n, h(10))
    expect(pool.health[1]?.demoted).toMatch(/inconsistently/)
    expect(pool.health[0]?.demoted).toBeUndefined()
    pool.noteHead(0, 11n, h(11))
    pool.noteHead(1, 11n, h(11))
    pool.noteCanonical(11n, h(11))
    expect(pool.health[1]?.demoted).toBeUndefined()
  })
})
