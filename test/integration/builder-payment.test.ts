/**
 * Builder payments read from a real node's call traces (anvil's debug_traceTransaction with the
 * callTracer): a transfer straight to the coinbase, one forwarded by a contract, and one inside a
 * transaction that reverts (which paid nothing). A node that does not trace is asked once.
 */
import { type Address, createPublicClient, custom, type Hex, parseEther, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient } from '../../src/chain/rpc.js'
import { type AnvilInstance, startAnvil } from '../../src/chain/startAnvil.js'
import { coinbasePaidWei, createBuilderPaymentReader } from '../../src/executor/builderPayment.js'
import { createLogger } from '../../src/logger.js'

const COINBASE: Address = '0x00000000000000000000000000000000000c0ffe'
const PAYER: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' // anvil's first account
// CALL(gas, coinbase, callvalue, 0, 0, 0, 0), then STOP — or REVERT(0, 0) after it.
const FORWARDER: Address = '0x0000000000000000000000000000000000f0f0f0'
const FORWARD_THEN_REVERT: Address = '0x0000000000000000000000000000000000f0f0f1'
const forward = '600060006000600034415af1'

let anvil: AnvilInstance
const client = () => httpClient(anvil.rpcUrl, anvil.chainId)
const quiet = createLogger('silent')

beforeAll(async () => {
  anvil = await startAnvil()
  const c = client()
  await c.request({ method: 'anvil_setCoinbase', params: [COINBASE] } as never)
  await c.request({ method: 'anvil_setCode', params: [FORWARDER, `0x${forward}00`] } as never)
  await c.request({
    method: 'anvil_setCode',
    params: [FORWARD_THEN_REVERT, `0x${forward}60006000fd`],
  } as never)
})
afterAll(async () => {
  await anvil?.stop()
})

async function sendFromPayer(to: Address, value: bigint): Promise<{ hash: Hex; blockNumber: bigint }> {
  const c = client()
  const hash = (await c.request({
    method: 'eth_sendTransaction',
    params: [{ from: PAYER, to, value: toHex(value), gas: toHex(100_000n) }],
  } as never)) as Hex
  const receipt = await c.waitForTransactionReceipt({ hash })
  return { hash, blockNumber: receipt.blockNumber }
}

describe('builder payments', () => {
  it('counts ETH that reached the coinbase, directly or through a contract, and nothing from a revert', async () => {
    const reader = createBuilderPaymentReader(client(), quiet)
    const direct = await sendFromPayer(COINBASE, parseEther('0.01'))
    expect(await reader.paidWei(direct.hash, direct.blockNumber)).toBe(parseEther('0.01'))
    expect(reader.tracing).toBe(true)
    const forwarded = await sendFromPayer(FORWARDER, parseEther('0.02'))
    expect(await reader.paidWei(forwarded.hash, forwarded.blockNumber)).toBe(parseEther('0.02'))
    const reverted = await sendFromPayer(FORWARD_THEN_REVERT, parseEther('0.03'))
    expect(await reader.paidWei(reverted.hash, reverted.blockNumber)).toBe(0n)
    // A plain transfer elsewhere pays the builder nothing.
    const elsewhere = await sendFromPayer('0x0000000000000000000000000000000000000bad', parseEther('0.04'))
    expect(await reader.paidWei(elsewhere.hash, elsewhere.blockNumber)).toBe(0n)
  })

  it('skips reverted subtrees and frames that move no value of their own', () => {
    const frame = {
      type: 'CALL',
      to: '0x00000000000000000000000000000000000000aa',
      value: '0x0',
      calls: [
        { type: 'CALL', to: COINBASE.toUpperCase().replace('0X', '0x'), value: '0x64' },
        { type: 'DELEGATECALL', to: COINBASE, value: '0x64' },
        { type: 'STATICCALL', to: COINBASE },
        {
          type: 'CALL',
          to: '0x00000000000000000000000000000000000000bb',
          error: 'execution reverted',
          calls: [{ type: 'CALL', to: COINBASE, value: '0x3e8' }],
        },
        {
          type: 'CALL',
          to: '0x00000000000000000000000000000000000000cc',
          calls: [{ type: 'CALL', to: COINBASE, value: '0x1' }],
        },
      ],
    }
    expect(coinbasePaidWei(frame, COINBASE)).toBe(101n)
  })

  it('asks a node that does not trace once, then learns priority fees alone', async () => {
    let asked = 0
    const transport = custom(
      {
        async request({ method }: { method: string }) {
          if (method === 'debug_traceTransaction') {
            asked++
            throw Object.assign(
              new Error('the method debug_traceTransaction does not exist/is not available'),
              {
                code: -32601,
              },
            )
          }
          throw new Error(`unscripted ${method}`)
        },
      },
      { retryCount: 0 },
    )
    const reader = createBuilderPaymentReader(createPublicClient({ transport }), quiet)
    const hash = `0x${'11'.repeat(32)}` as Hex
    expect(await reader.paidWei(hash, 1n)).toBe(0n)
    expect(await reader.paidWei(hash, 2n)).toBe(0n)
    expect(asked).toBe(1)
    expect(reader.tracing).toBe(false)
  })
})
