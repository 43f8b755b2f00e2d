/**
 * The executor against a scripted node (viem client over a custom transport): two plans for one
 * account interleaved while the first is still simulating send exactly one transaction.
 */
import { createPublicClient, custom, defineChain, type Hex, numberToHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createExecutor } from '../../../src/executor/executor.js'
import { createLogger } from '../../../src/logger.js'
import { createMetrics } from '../../../src/metrics.js'
import type { Strategy } from '../../../src/types.js'
import { header, opportunity, simulatedBlock, simulatedCall } from '../../support/fakes.js'

const KEY = `0x${'11'.repeat(32)}` as Hex
const chain = defineChain({
  id: 31337,
  name: 'scripted',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: ['http://scripted'] } },
})

describe('executor', () => {
  it('two interleaved plans for one account send one transaction', async () => {
    const sent: Hex[] = []
    let release: () => void = () => undefined
    const simulating = new Promise<void>((resolve) => {
      release = resolve
    })
    let simulations = 0
    const word = (n: bigint) => numberToHex(n, { size: 32 })
    const transport = custom({
      async request({ method }: { method: string; params?: unknown }) {
        if (method === 'eth_chainId') return numberToHex(31337)
        if (method === 'eth_getTransactionCount') return '0x0'
        if (method === 'eth_sendRawTransaction') {
          sent.push(`0x${sent.length.toString(16).padStart(64, '0')}`)
          return sent[sent.length - 1]
        }
        if (method === 'eth_simulateV1') {
          simulations++
          await simulating // the first plan is still simulating when the second arrives
          const call = (returnData: Hex) => simulatedCall(returnData, '0x5208')
          return simulatedBlock([call(word(0n)), call('0x'), call(word(10n ** 12n))], '0x5208')
        }
        throw new Error(`unscripted ${method}`)
      },
    })
    const client = createPublicClient({ chain, transport })
    const strategy = { nativePriceBase: () => 2_000n * 10n ** 8n, baseDecimals: 8 } as unknown as Strategy
    const executor = createExecutor({
      client,
      account: privateKeyToAccount(KEY),
      strategy,
      log: createLogger('silent'),
      metrics: createMetrics(),
      settings: {
        chainId: 31337,
        minProfitBase: 1n,
        priorityFeeShareBps: 1_000n,
        maxFeePerGasWei: 10n ** 12n,
        replaceAfterBlocks: 2,
        gasLimitMarginBps: 1_000n,
        dryRun: false,
      },
    })
    const plan = () =>
      opportunity('0x00000000000000000000000000000000000000a1', 10n ** 12n, {
        probes: [
          {
            label: 'balance',
            to: '0x00000000000000000000000000000000000000b0',
            calldata: () => '0x',
            valueBase: (delta: bigint) => delta,
          },
        ],
      })
    const first = executor.execute(plan(), header(5))
    const second = executor.execute(plan(), header(5)) // e.g. a reconnect's catch-up planned again
    release()
    expect(await Promise.all([first, second])).toEqual(['sent', 'skipped'])
    expect(simulations).toBe(1)
    expect(sent.length).toBe(1)
    // Still in flight: a third plan for the key is skipped too.
    expect(await executor.execute(plan(), header(6))).toBe('skipped')
    expect(sent.length).toBe(1)
  })
})
