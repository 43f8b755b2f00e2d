/**
 * The chain follower's gap backfill against a scripted node: a long gap is applied chunk by chunk,
 * so when the node fails part-way the strategy stays at the last chunk it applied (a real block),
 * and the next sync resumes from there instead of from the start; no block is applied twice.
 */
import type { Hex, PublicClient } from 'viem'
import { describe, expect, it } from 'vitest'
import { advanceStrategy } from '../../../src/chain/followChain.js'
import type { BlockLogs, BlockRef, Strategy } from '../../../src/types.js'

const hash = (n: bigint) => `0x${n.toString(16).padStart(64, '0')}` as Hex

function scriptedNode(failFrom: bigint | undefined) {
  const ranges: [bigint, bigint][] = []
  const client = {
    async request({ method, params }: { method: string; params: [{ fromBlock: Hex; toBlock: Hex }] }) {
      if (method !== 'eth_getLogs') throw new Error(`unscripted ${method}`)
      const from = BigInt(params[0].fromBlock)
      const to = BigInt(params[0].toBlock)
      if (failFrom !== undefined && to >= failFrom) {
        const error = new Error('HTTP request failed. Status: 503')
        error.name = 'HttpRequestError'
        throw error
      }
      ranges.push([from, to])
      // One log in every block, so every applied block is visible.
      const logs = []
      for (let n = from; n <= to; n++)
        logs.push({
          address: '0x00000000000000000000000000000000000000aa',
          topics: [hash(1n)],
          data: '0x',
          blockNumber: `0x${n.toString(16)}`,
          blockHash: hash(n),
          logIndex: '0x0',
          transactionHash: hash(n + 1000n),
          blockTimestamp: `0x${(1000n + n).toString(16)}`,
        })
      return logs
    },
    async getBlock({ blockNumber }: { blockNumber: bigint }) {
      return { number: blockNumber, hash: hash(blockNumber), timestamp: 1000n + blockNumber }
    },
  }
  return { client: client as unknown as PublicClient, ranges }
}

function recordingStrategy(start: bigint) {
  const applied: bigint[] = []
  let head: BlockRef = { number: start, hash: hash(start), timestamp: 1000n + start }
  const strategy = {
    get head() {
      return head
    },
    logFilter: () => ({ addresses: ['0x00000000000000000000000000000000000000aa'], events: undefined }),
    async advance(blocks: readonly BlockLogs[], to: BlockRef) {
      for (const b of blocks) applied.push(b.number)
      head = to
      return { changedAccounts: blocks.length }
    },
    // Every log is a liquidation here: each chunk's must reach the caller (the bid learner).
    liquidationsIn: (logs: readonly { blockNumber: bigint | null }[]) =>
      logs.map((l) => ({ blockNumber: l.blockNumber })),
  }
  return { strategy: strategy as unknown as Strategy, applied }
}

describe('gap backfill', () => {
  it('is resumable: a failure part-way keeps the chunks applied, and the retry goes on from there', async () => {
    const { strategy, applied } = recordingStrategy(100n)
    const target = { number: 30_100n, hash: hash(30_100n), timestamp: 31_100n }
    // The node dies once blocks past 20,000 are asked for.
    const failing = scriptedNode(20_101n)
    await expect(advanceStrategy(failing.client, strategy, target)).rejects.toThrow()
    const reached = strategy.head.number
    expect(reached).toBeGreaterThan(100n)
    expect(reached).toBeLessThan(30_100n)
    // Every block up to where it stopped, once, in order.
    expect(applied).toEqual(Array.from({ length: Number(reached - 100n) }, (_, i) => 101n + BigInt(i)))
    // The node is back: the next sync starts after the last applied block.
    const healthy = scriptedNode(undefined)
    await advanceStrategy(healthy.client, strategy, target)
    expect(healthy.ranges[0]?.[0]).toBe(reached + 1n)
    expect(strategy.head.number).toBe(30_100n)
    expect(applied).toEqual(Array.from({ length: 30_000 }, (_, i) => 101n + BigInt(i)))
  })

  it('reports the liquidations of every chunk of a long gap, not only the last one', async () => {
    const { strategy } = recordingStrategy(100n)
    const target = { number: 30_100n, hash: hash(30_100n), timestamp: 31_100n }
    const node = scriptedNode(undefined)
    const result = await advanceStrategy(node.client, strategy, target)
    expect(node.ranges.length).toBeGreaterThan(1)
    expect(result.liquidations).toHaveLength(30_000)
    expect(result.liquidations?.[0]?.blockNumber).toBe(101n)
  })
})
