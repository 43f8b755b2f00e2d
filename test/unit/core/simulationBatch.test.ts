/**
 * The simulation batcher against a scripted node that executes each eth_simulateV1 block in order:
 * a liquidation call (data = its reward, as a 32-byte word) credits the sender's balance, a probe
 * reads it, so within one block every later probe sees what the earlier calls paid. Each
 * opportunity must still get exactly its own reward, from the probes around its own call.
 */
import { type Address, createPublicClient, custom, type Hex, hexToBigInt, numberToHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { createSimulationBatcher } from '../../../src/executor/simulationBatch.js'
import type { PendingTx } from '../../../src/types.js'
import { opportunity, simulatedBlock, simulatedCall } from '../../support/fakes.js'

const FROM: Address = '0x00000000000000000000000000000000000000f1'
const TARGET: Address = '0x00000000000000000000000000000000000000c0'
const PROBE: Address = '0x00000000000000000000000000000000000000b0'
const ORACLE: Address = '0x00000000000000000000000000000000000000a0'
const word = (n: bigint) => numberToHex(n, { size: 32 })

interface SimCall {
  from: Address
  to: Address
  data: Hex
}

function scriptedNode(opts: { failWhen?: (calls: SimCall[]) => boolean } = {}) {
  const blocks: SimCall[][] = []
  const transport = custom(
    {
      async request({ method, params }: { method: string; params?: unknown }) {
        if (method !== 'eth_simulateV1') throw new Error(`unscripted ${method}`)
        const [{ blockStateCalls }] = params as [{ blockStateCalls: { calls: SimCall[] }[] }]
        const calls = blockStateCalls[0]?.calls ?? []
        blocks.push(calls)
        if (opts.failWhen?.(calls)) throw new Error('node overloaded')
        let balance = 0n
        const results = calls.map((call) => {
          if (call.to.toLowerCase() === TARGET) {
            // A reward of 0 stands for a liquidation that reverts: no state change.
            const reward = hexToBigInt(call.data)
            if (reward === 0n) return simulatedCall('0x', '0x1', '0x0')
            balance += reward
            return simulatedCall('0x', numberToHex(100_000n + reward))
          }
          if (call.to.toLowerCase() === PROBE) return simulatedCall(word(balance))
          return simulatedCall() // an oracle update
        })
        return simulatedBlock(results)
      },
    },
    { retryCount: 0 },
  )
  return { client: createPublicClient({ transport }), blocks }
}

const update = (n: number): PendingTx => ({
  hash: numberToHex(n, { size: 32 }),
  from: '0x00000000000000000000000000000000000000e0',
  to: ORACLE,
  input: '0x01',
  nonce: n,
  maxFeePerGas: null,
  maxPriorityFeePerGas: null,
  gasPrice: null,
  seenAt: 0,
})

const liquidation = (key: string, reward: bigint, dependsOn?: PendingTx) =>
  opportunity(key, reward, {
    call: { to: TARGET, data: word(reward), value: 0n },
    probes: [{ label: 'balance', to: PROBE, calldata: () => '0x', valueBase: (delta: bigint) => delta }],
    ...(dependsOn ? { dependsOn } : {}),
  })

describe('simulation batcher', () => {
  it('simulates what one update opens in blocks of ten, each opportunity measured around its own call', async () => {
    const node = scriptedNode()
    const batcher = createSimulationBatcher(node.client, FROM, 10)
    const oracle = update(1)
    const opps = Array.from({ length: 25 }, (_, i) => liquidation(`k${i}`, BigInt(1_000 + i), oracle))
    const results = await Promise.all(opps.map((o) => batcher.simulate(o)))
    expect(node.blocks.map((b) => b.length)).toEqual([1 + 10 * 3, 1 + 10 * 3, 1 + 5 * 3])
    for (const block of node.blocks) expect(block[0]?.to.toLowerCase()).toBe(ORACLE)
    results.forEach((r, i) => {
      expect(r.ok).toBe(true)
      expect(r.profitBase).toBe(BigInt(1_000 + i))
      expect(r.gasUsed).toBe(100_000n + BigInt(1_000 + i))
    })
  })

  it('keeps a reverting call from shifting the others', async () => {
    const node = scriptedNode()
    const batcher = createSimulationBatcher(node.client, FROM, 10)
    const oracle = update(1)
    const [a, b, c] = await Promise.all([
      batcher.simulate(liquidation('a', 7n, oracle)),
      batcher.simulate(liquidation('b', 0n, oracle)),
      batcher.simulate(liquidation('c', 9n, oracle)),
    ])
    expect(node.blocks.length).toBe(1)
    expect([a?.ok, b?.ok, c?.ok]).toEqual([true, false, true])
    expect([a?.profitBase, b?.profitBase, c?.profitBase]).toEqual([7n, 0n, 9n])
  })

  it('never puts two variants of one opportunity in one block, nor different updates together', async () => {
    const node = scriptedNode()
    const batcher = createSimulationBatcher(node.client, FROM, 10)
    const first = update(1)
    const second = update(2)
    const asks = [
      batcher.simulate(liquidation('x', 5n, first)), // the direct call
      batcher.simulate(liquidation('x', 6n, first)), // a flash route for the same account
      batcher.simulate(liquidation('y', 8n, first)),
      batcher.simulate(liquidation('z', 3n, second)),
      batcher.simulate(liquidation('w', 4n)), // a block-path liquidation, following nothing
    ]
    const results = await Promise.all(asks)
    expect(results.map((r) => r.profitBase)).toEqual([5n, 6n, 8n, 3n, 4n])
    const keysPerBlock = node.blocks.map((calls) =>
      calls.filter((c) => c.to.toLowerCase() === TARGET).map((c) => hexToBigInt(c.data)),
    )
    expect(keysPerBlock).toEqual([[5n, 8n], [6n], [3n], [4n]])
    expect(node.blocks[2]?.[0]?.to.toLowerCase()).toBe(ORACLE)
    expect(node.blocks[3]?.[0]?.to.toLowerCase()).toBe(PROBE)
  })

  it('a failed request rejects only the asks it carried', async () => {
    const node = scriptedNode({ failWhen: (calls) => calls.some((c) => c.data === word(13n)) })
    const batcher = createSimulationBatcher(node.client, FROM, 2)
    const oracle = update(1)
    const settled = await Promise.allSettled(
      [11n, 12n, 13n].map((reward) => batcher.simulate(liquidation(`k${reward}`, reward, oracle))),
    )
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
    expect(String((settled[2] as PromiseRejectedResult).reason)).toContain('node overloaded')
  })

  it('asks made in a later turn of the event loop go in a later request', async () => {
    const node = scriptedNode()
    const batcher = createSimulationBatcher(node.client, FROM, 10)
    const oracle = update(1)
    await batcher.simulate(liquidation('a', 1n, oracle))
    await batcher.simulate(liquidation('b', 2n, oracle))
    expect(node.blocks.length).toBe(2)
  })
})
