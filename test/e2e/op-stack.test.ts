/**
 * An OP-stack chain charges every transaction an L1 data fee on top of L2 gas. On a devnet with the
 * GasPriceOracle predeploy, a liquidation worth its L2 gas but not its L1 fee is refused, and every one
 * sent clears the minimum after both, the L1 fee recomputed here from the landed transaction's bytes
 * with the Ecotone formula.
 */
import { hexToBytes, parseUnits, serializeTransaction } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { devActions } from '../../src/chain/devActions.js'
import { OP_GAS_PRICE_ORACLE } from '../../src/chain/l1Fee.js'
import { sendPendingPrice } from '../../src/demo.js'
import { createLogger } from '../../src/logger.js'
import { type AaveDemoRun, startAaveDemo } from '../support/aave.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

const L1_BASE_FEE = parseUnits('10000000', 9)
const BLOB_BASE_FEE = parseUnits('1', 9)
const BASE_SCALAR = 5227n
const BLOB_SCALAR = 1_014_213n

/** Ecotone: (Σ 4 per zero byte, 16 per other, + 68 × 16) × (16 × scalar × l1BaseFee + blobScalar × blobFee) / 16e6. */
function ecotoneFee(unsigned: `0x${string}`): bigint {
  let gas = 68n * 16n
  for (const byte of hexToBytes(unsigned)) gas += byte === 0 ? 4n : 16n
  return (gas * (16n * BASE_SCALAR * L1_BASE_FEE + BLOB_SCALAR * BLOB_BASE_FEE)) / (16n * 10n ** 6n)
}

/** Three heads in a row with nothing in flight, nothing pending and no new landed liquidation. */
async function quiet(run: AaveDemoRun, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let calm = 0
  let last = -1n
  let seen = -1
  while (calm < 3) {
    if (Date.now() > deadline) throw new Error('the daemon did not settle')
    await new Promise((resolve) => setTimeout(resolve, 200))
    const head = run.daemon.engine.lastHead
    if (!head || head.number === last) continue
    last = head.number
    const pending = (await devActions(run.devnet.client).getTxpoolStatus()).pending
    const records = run.daemon.executor.records.length
    calm = pending === 0 && run.daemon.executor.inFlightCount() === 0 && records === seen ? calm + 1 : 0
    seen = records
  }
}

describe('OP-stack L1 data fee', () => {
  it('is in the profit check: liquidations that do not pay for it are refused, the ones sent do', async () => {
    const run = await startAaveDemo({
      log: createLogger('error', { pretty: false, destination: process.stderr }),
      opStack: { l1BaseFeeGwei: '10000000' },
    })
    cleanups.push(() => run.stop())
    expect(await run.devnet.client.getCode({ address: OP_GAS_PRICE_ORACLE })).toMatch(/^0x[0-9a-f]{100,}/)
    for (const [symbol, price] of [
      ['WETH', '1500'],
      ['WBTC', '31000'],
      ['LINK', '11'],
    ] as const)
      await sendPendingPrice(run, symbol, price)
    // Not "nothing left to liquidate": what does not pay its L1 fee stays. Wait for quiet instead.
    await quiet(run)
    const native = run.daemon.strategy.nativePriceBase()
    const minProfitBase = parseUnits(run.minProfitUsd, 8)
    const records = run.daemon.executor.records
    expect(records.length).toBeGreaterThan(0)
    for (const record of records) {
      const tx = await run.devnet.client.getTransaction({ hash: record.hash })
      const unsigned = serializeTransaction({
        type: 'eip1559',
        chainId: tx.chainId as number,
        nonce: tx.nonce,
        to: tx.to as `0x${string}`,
        data: tx.input,
        value: tx.value,
        gas: tx.gas,
        maxFeePerGas: tx.maxFeePerGas as bigint,
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas as bigint,
      })
      const l1FeeBase = (ecotoneFee(unsigned) * native) / 10n ** 18n
      const gasBase = (record.gasUsed * record.effectiveGasPrice * native) / 10n ** 18n
      expect(l1FeeBase).toBeGreaterThan(100n * 10n ** 8n) // over $100: it matters
      expect(record.event.valueBase - gasBase - l1FeeBase).toBeGreaterThanOrEqual(minProfitBase)
    }
    // Some accounts are still liquidatable and worth their L2 gas, but not the L1 fee: refused.
    const refused = (await run.daemon.metrics.refused.get()).values.find(
      (v) => v.labels.reason === 'below min profit',
    )
    expect(refused?.value ?? 0).toBeGreaterThan(0)
    const head = run.daemon.strategy.head
    const open = run.daemon.strategy
      .plan({ timestamp: head.timestamp + 1n, gasPriceWei: 2n * 10n ** 9n })
      .filter((o) => o.netProfitBase >= minProfitBase)
    expect(open.length).toBeGreaterThan(0)
  })
})
