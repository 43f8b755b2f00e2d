/**
 * Prices that move without an event of their own, on the real devnet: wstETH is priced by an
 * exchange-rate adapter (WETH feed × a silent rate, capped) and DAI by a capped adapter, both ours
 * with the interface of Aave's CAPO adapters, installed as AaveOracle sources.
 */
import { Writable } from 'node:stream'
import type { Address } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { devActions } from '../../src/chain/devActions.js'
import { parseConfig } from '../../src/config.js'
import { startDaemon } from '../../src/daemon.js'
import { sendPendingPrice, waitUntilSettled } from '../../src/demo.js'
import { DRY_RUN_SENDER } from '../../src/executor/executor.js'
import { createLogger } from '../../src/logger.js'
import { aaveOracleAbi, poolAbi } from '../../strategies/aave-v3/abi.js'
import { oraclePrice, setPrice } from '../../strategies/aave-v3/devnet/index.js'
import { pricesAt } from '../../strategies/aave-v3/priceSources.js'
import { registry } from '../../strategies/index.js'
import { type AaveDemoRun, aaveStrategy, startAaveDemo } from '../support/aave.js'
import { openProfitable } from '../support/daemonChecks.js'

const quiet = () => createLogger('error', { pretty: false, destination: process.stderr })
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

const ONE = 10n ** 18n

/** Accounts the Pool itself reports below HF 1 at a block. */
async function belowOne(run: AaveDemoRun, blockNumber: bigint): Promise<Address[]> {
  const out: Address[] = []
  for (const account of run.devnet.accounts) {
    const data = await run.devnet.client.readContract({
      address: run.devnet.addresses.pool,
      abi: poolAbi,
      functionName: 'getUserAccountData',
      args: [account],
      blockNumber,
    })
    if (data[1] > 0n && data[5] < ONE) out.push(account)
  }
  return out
}

async function mirrorCheckFigures(run: AaveDemoRun) {
  const checked = (await run.daemon.metrics.mirrorChecked.get()).values[0]?.value ?? 0
  const mismatches = (await run.daemon.metrics.mirrorMismatches.get()).values[0]?.value ?? 0
  return { checked, mismatches }
}

/** First block each account was liquidated in by the daemon. */
function firstLiquidation(run: AaveDemoRun): Map<string, bigint> {
  const out = new Map<string, bigint>()
  for (const r of run.daemon.executor.records) {
    const key = r.account.toLowerCase()
    const seen = out.get(key)
    if (seen === undefined || r.blockNumber < seen) out.set(key, r.blockNumber)
  }
  return out
}

describe('price adapters', () => {
  it('liquidates within 3 blocks after a silent rate drop and after an underlying-feed move, the differential check clean throughout', async () => {
    const run = await startAaveDemo({ log: quiet(), seed: 3, accounts: 60 })
    cleanups.push(() => run.stop())
    const market = aaveStrategy(run.daemon).market()
    const wstEth = run.devnet.addresses.reserves.wstETH
    const dai = run.devnet.addresses.reserves.DAI
    if (!wstEth || !dai) throw new Error('devnet without wstETH or DAI')
    // Classified at load: both are adapters with a model, neither emits a price event.
    const wstSource = market.adapters.get(wstEth.source.toLowerCase())
    expect(wstSource?.model.kind).toBe('ratio')
    expect(wstSource?.assets).toEqual([wstEth.asset.toLowerCase()])
    expect(market.adapters.get(dai.source.toLowerCase())?.model.kind).toBe('stable-cap')
    expect(market.prices.get(wstEth.asset.toLowerCase())).toBe(230_000_000_000n)
    const wstId = market.reserves.get(wstEth.asset.toLowerCase())?.id as number
    const daiId = market.reserves.get(dai.asset.toLowerCase())?.id as number
    const usesAsCollateral = (account: string, id: number) =>
      (((market.accounts.get(account.toLowerCase())?.config ?? 0n) >> BigInt(2 * id + 1)) & 1n) === 1n

    // 1. Only an adapter's underlying feed moves: DAI/USD depegs to 0.80 under its 1.04 cap.
    const feedMove = await setPrice(run.devnet, 'DAI', '0.80', run.devnet.client)
    expect(await oraclePrice(run.devnet.client, run.devnet, 'DAI')).toBe(80_000_000n)
    const pushedByFeed = await belowOne(run, feedMove.blockNumber)
    expect(pushedByFeed.length).toBeGreaterThanOrEqual(1)
    expect(pushedByFeed.every((a) => usesAsCollateral(a, daiId))).toBe(true)
    expect(await waitUntilSettled(run)).toBe(true)
    let first = firstLiquidation(run)
    for (const account of pushedByFeed) {
      const block = first.get(account.toLowerCase())
      expect(block, `${account} not liquidated`).toBeDefined()
      expect((block as bigint) - feedMove.blockNumber).toBeLessThanOrEqual(3n)
    }
    expect(openProfitable(run.daemon)).toEqual([])

    // 2. The exchange rate drops 40%: no event anywhere; the Pool's own view says who is underwater.
    const already = new Set(first.keys())
    const rateDrop = await setPrice(run.devnet, 'wstETH', '1380', run.devnet.client)
    expect(rateDrop.logs).toEqual([])
    expect(await oraclePrice(run.devnet.client, run.devnet, 'wstETH')).toBe(138_000_000_000n)
    const pushed = (await belowOne(run, rateDrop.blockNumber)).filter((a) => !already.has(a.toLowerCase()))
    expect(pushed.length).toBeGreaterThanOrEqual(3)
    expect(pushed.every((a) => usesAsCollateral(a, wstId))).toBe(true)
    expect(await waitUntilSettled(run)).toBe(true)
    first = firstLiquidation(run)
    // Why an account waited, should it be late: the executor's refusals so far, by reason.
    const refusals = (await run.daemon.metrics.refused.get()).values.map(
      (v) => `${v.labels.reason}: ${v.value}`,
    )
    for (const account of pushed) {
      const block = first.get(account.toLowerCase())
      expect(block, `${account} not liquidated`).toBeDefined()
      expect(
        (block as bigint) - rateDrop.blockNumber,
        `${account}; refusals ${refusals.join(', ')}`,
      ).toBeLessThanOrEqual(3n)
    }
    expect(openProfitable(run.daemon)).toEqual([])

    // 3. A pending WETH update is predicted through the adapter: the price the plan uses for
    // wstETH is the one the oracle gives once the update lands, and the backruns land with it.
    const update = run.provider.priceUpdateTx(run.devnet, 'WETH', '1300')
    const decoded = run.daemon.strategy.decodePendingPrice({
      hash: '0x01',
      from: update.from,
      to: update.to,
      input: update.data,
      nonce: 0,
      maxFeePerGas: null,
      maxPriorityFeePerGas: null,
      gasPrice: null,
      seenAt: 0,
    })
    expect(decoded?.prices.get(wstEth.aggregator.toLowerCase())).toBe(130_000_000_000n)
    const head = run.daemon.strategy.head
    const predictedWstEth = pricesAt(market, head.timestamp + 1n, decoded?.prices).get(
      wstEth.asset.toLowerCase(),
    )
    const oracleTx = await sendPendingPrice(run, 'WETH', '1300')
    expect(await waitUntilSettled(run)).toBe(true)
    const oracleBlock = (await run.devnet.client.getTransactionReceipt({ hash: oracleTx })).blockNumber
    expect(predictedWstEth).toBe(
      await run.devnet.client.readContract({
        address: run.devnet.addresses.oracle,
        abi: aaveOracleAbi,
        functionName: 'getAssetPrice',
        args: [wstEth.asset],
        blockNumber: oracleBlock,
      }),
    )
    expect(predictedWstEth).toBe((130_000_000_000n * 69n) / 100n)
    expect(run.daemon.executor.records.some((r) => r.predicted && r.blockNumber === oracleBlock)).toBe(true)
    expect(run.daemon.executor.records.every((r) => r.agreed)).toBe(true)

    // The always-on differential check ran every block and never disagreed with the Pool.
    const figures = await mirrorCheckFigures(run)
    expect(figures.checked).toBeGreaterThan(50)
    expect(figures.mismatches).toBe(0)
    expect(await run.daemon.strategy.verify()).toMatchObject({ mismatches: [] })

    // A mirror gone wrong (one account's debt off by a unit) is caught by the rotation and resynced.
    const victim = [...market.accounts].find(([, p]) => p.scaledDebt.some((d) => (d ?? 0n) > 0n))
    if (!victim) throw new Error('no borrower left')
    const debtId = victim[1].scaledDebt.findIndex((d) => (d ?? 0n) > 0n)
    victim[1].scaledDebt[debtId] = (victim[1].scaledDebt[debtId] ?? 0n) + 10n ** 12n
    expect((await run.daemon.strategy.verify()).mismatches.length).toBeGreaterThan(0)
    await until(async () => (await mirrorCheckFigures(run)).mismatches >= 1)
    await until(async () => (await run.daemon.strategy.verify()).mismatches.length === 0)
  })
})

describe('dry run', () => {
  it('simulates as a liquidator holding nothing, names every liquidatable account, and sends nothing', async () => {
    const run = await startAaveDemo({ log: quiet(), seed: 1 })
    cleanups.push(() => run.stop())
    await run.daemon.stop()
    const lines: Record<string, unknown>[] = []
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line))
        done()
      },
    })
    const config = parseConfig(
      { devnet: run.devnetFile, dataDir: run.dataDir, dryRun: true, minProfitUsd: '0', blockTimeSeconds: 1 },
      {},
      registry,
    )
    const daemon = await startDaemon(config, {}, createLogger('info', { pretty: false, destination }))
    cleanups.push(() => daemon.stop(5_000))
    expect(daemon.executor.address).toBeUndefined()
    const drop = await setPrice(run.devnet, 'WETH', '1450', run.devnet.client)
    const liquidatable = new Set((await belowOne(run, drop.blockNumber)).map((a) => a.toLowerCase()))
    expect(liquidatable.size).toBeGreaterThanOrEqual(2)
    const named = () =>
      new Set(
        lines
          .filter((l) => l.msg === 'dry run: would submit liquidation')
          .map((l) => String(l.account).toLowerCase()),
      )
    await until(async () => [...liquidatable].every((a) => named().has(a)))
    expect(named()).toEqual(liquidatable)
    // Each line says what would be sent: the pair, the amounts, the profit and the gas.
    const line = lines.find((l) => l.msg === 'dry run: would submit liquidation') as Record<string, string>
    expect(line.from).toBe(DRY_RUN_SENDER)
    for (const field of [
      'collateralSymbol',
      'debtSymbol',
      'debtToCover',
      'collateralReceived',
      'expectedProfitUsd',
      'gasUsed',
    ])
      expect(line[field], field).toBeDefined()
    expect(Number(line.gasUsed)).toBeGreaterThan(100_000)
    // Nothing was sent: no submission, and nothing from anyone waits in the pool.
    const submissions = (await daemon.metrics.submissions.get()).values.reduce((n, v) => n + v.value, 0)
    expect(submissions).toBe(0)
    expect((await devActions(run.devnet.client).getTxpoolStatus()).pending).toBe(0)
    expect(await run.devnet.client.getTransactionCount({ address: DRY_RUN_SENDER })).toBe(0)
  })
})

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
