/**
 * The daemon end to end on the real devnet: a pending price shock liquidated exactly as predicted,
 * backruns in the oracle's block, WebSocket cuts, a reorg, and a restart from the snapshot.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { type Address, parseUnits } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { type Daemon, startDaemon } from '../../src/daemon.js'
import {
  DEMO_HOT_WALLET_KEYS,
  DEMO_LIQUIDATOR_KEY,
  sendPendingPrice,
  waitUntilSettled,
} from '../../src/demo.js'
import { createLogger } from '../../src/logger.js'
import { loadSnapshot, snapshotPath } from '../../src/store/snapshotStore.js'
import { aaveOracleAbi, aggregatorAbi, erc20Abi } from '../../strategies/aave-v3/abi.js'
import { setPrice } from '../../strategies/aave-v3/devnet/index.js'
import { registry } from '../../strategies/index.js'
import { type AaveDemoRun, aaveRecord, aaveStrategy, startAaveDemo } from '../support/aave.js'
import { independentPredictions, openProfitable } from '../support/daemonChecks.js'
import { startCuttableProxy } from '../support/wsProxy.js'

const quiet = () => createLogger('error', { pretty: false, destination: process.stderr })
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

async function demo(options: Parameters<typeof startAaveDemo>[0] = {}): Promise<AaveDemoRun> {
  const run = await startAaveDemo({ log: quiet(), ...options })
  cleanups.push(() => run.stop())
  return run
}

async function balances(run: AaveDemoRun) {
  const out = new Map<string, bigint>()
  for (const reserve of Object.values(run.devnet.addresses.reserves)) {
    out.set(
      reserve.asset.toLowerCase(),
      await run.devnet.client.readContract({
        address: reserve.asset,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [run.liquidator],
      }),
    )
  }
  return out
}

describe('undertow daemon', () => {
  it('liquidates every profitable account after a pending price shock, exactly as predicted, backrunning the oracle', async () => {
    const run = await demo()
    // The default devnet is the current Aave: aave-v3-origin 3.6 (Pool revision 10).
    expect(aaveStrategy(run.daemon).market().poolRevision).toBe(10n)
    const before = await balances(run)
    const hashes = [
      await sendPendingPrice(run, 'WETH', '1500'),
      await sendPendingPrice(run, 'WBTC', '31000'),
      await sendPendingPrice(run, 'LINK', '11'),
    ]
    expect(await waitUntilSettled(run)).toBe(true)
    const records = run.daemon.executor.records
    expect(records.length).toBeGreaterThanOrEqual(3)
    // Every landed liquidation with a bonus taught the bid learner what it paid (the receipts are
    // read after the head; a liquidation worth nothing at the prices after its block teaches nothing).
    const landedTxs = new Set(records.filter((r) => r.event.valueBase > 0n).map((r) => r.hash)).size
    const learnedBy = Date.now() + 30_000
    while ((run.daemon.bids?.samples ?? 0) < landedTxs && Date.now() < learnedBy)
      await new Promise((resolve) => setTimeout(resolve, 50))
    expect(run.daemon.bids?.samples).toBe(landedTxs)
    expect(openProfitable(run.daemon)).toEqual([])
    // Nothing it sent reverted: backruns planned on only the first pending updates were re-checked
    // against all of them before signing (and cancelled if already sent).
    const inclusions = await run.daemon.metrics.inclusions.get()
    expect(
      inclusions.values.filter((v) => v.labels.status === 'reverted').reduce((n, v) => n + v.value, 0),
    ).toBe(0)

    // Every landed liquidation equals a prediction made independently from logs at the block before it.
    const checks = await independentPredictions(
      run.devnet.client,
      run.devnet.addresses.addressesProvider,
      run.devnet.addresses.batchReader,
      records,
    )
    for (const { record, predicted } of checks)
      expect({ repaid: aaveRecord(record).repaid, received: aaveRecord(record).received }).toEqual(predicted)

    // The liquidator's token balances moved by exactly the predicted amounts (gas is paid in ETH).
    const after = await balances(run)
    const expected = new Map(before)
    for (const record of records) {
      const r = aaveRecord(record)
      expected.set(
        r.receiveAsset.toLowerCase(),
        (expected.get(r.receiveAsset.toLowerCase()) ?? 0n) + r.received,
      )
      expected.set(r.repayAsset.toLowerCase(), (expected.get(r.repayAsset.toLowerCase()) ?? 0n) - r.repaid)
    }
    expect(after).toEqual(expected)

    // Backruns land in the oracle update's block or the next one.
    const oracleBlocks = await Promise.all(
      hashes.map(async (hash) => (await run.devnet.client.getTransactionReceipt({ hash })).blockNumber),
    )
    const backruns = records.filter((r) => r.predicted)
    expect(backruns.length).toBeGreaterThan(0)
    for (const r of backruns) expect(r.blockNumber - (oracleBlocks[0] ?? 0n)).toBeLessThanOrEqual(1n)
    expect(backruns.some((r) => oracleBlocks.includes(r.blockNumber))).toBe(true)
    expect(await run.daemon.strategy.verify()).toMatchObject({ mismatches: [] })
  })

  it('survives repeated WebSocket cuts: reconnects, backfills, liquidates, and the mirror stays exact', async () => {
    const run = await demo({ seed: 5 })
    await run.daemon.stop()
    const proxy = await startCuttableProxy(run.devnet.anvil.port)
    cleanups.push(() => proxy.close())
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const config = parseConfig(
      { devnet: run.devnetFile, rpcWs: proxy.url, dataDir: run.dataDir, minProfitUsd: '5' },
      env,
      registry,
    )
    const daemon: Daemon = await startDaemon(config, env, quiet())
    cleanups.push(() => daemon.stop(5_000))
    const shocks: [string, string][] = [
      ['WETH', '1700'],
      ['WBTC', '33000'],
      ['WETH', '1450'],
      ['LINK', '10.5'],
    ]
    for (const [symbol, price] of shocks) {
      proxy.cut()
      // Moved while the daemon is disconnected: it must learn of it by backfilling logs.
      await setPrice(run.devnet, symbol, price, run.devnet.client)
      await new Promise((resolve) => setTimeout(resolve, 2_500))
    }
    run.daemon = daemon
    expect(await waitUntilSettled(run)).toBe(true)
    expect(proxy.cuts).toBe(4)
    expect((await daemon.metrics.reconnects.get()).values[0]?.value).toBeGreaterThanOrEqual(3)
    expect(daemon.executor.records.length).toBeGreaterThan(0)
    expect(openProfitable(daemon)).toEqual([])
    expect(daemon.strategy.head.number).toBeGreaterThanOrEqual(
      (await run.devnet.client.getBlockNumber({ cacheTime: 0 })) - 1n,
    )
    expect(await daemon.strategy.verify()).toMatchObject({ mismatches: [] })
  })

  it('follows a reorg made with anvil_reorg: rolls back and still verifies exact', async () => {
    const run = await demo({ seed: 2 })
    const client = run.devnet.client
    await client.request({ method: 'evm_setIntervalMining', params: [0] } as never)
    await client.request({ method: 'evm_setAutomine', params: [true] } as never)
    const receipt = await setPrice(run.devnet, 'WBTC', '36000', client)
    await client.request({ method: 'evm_mine', params: [] } as never)
    await client.request({ method: 'evm_mine', params: [] } as never)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(run.daemon.strategy.head.number).toBeGreaterThanOrEqual(receipt.blockNumber + 2n)
    // Replace the last three blocks with ones that do not carry the price update.
    await client.request({ method: 'anvil_reorg', params: [3, []] } as never)
    await client.request({ method: 'evm_mine', params: [] } as never)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const aggregator = run.devnet.addresses.reserves.WBTC?.aggregator as `0x${string}`
    expect(
      await client.readContract({ address: aggregator, abi: aggregatorAbi, functionName: 'latestAnswer' }),
    ).toBe(40_000n * 10n ** 8n)
    expect((await run.daemon.metrics.reorgs.get()).values[0]?.value).toBeGreaterThanOrEqual(1)
    const head = await client.getBlock()
    expect(run.daemon.strategy.head.hash).toBe(head.hash)
    expect(await run.daemon.strategy.verify()).toMatchObject({ mismatches: [] })
  })

  it('resumes from its snapshot after being killed, without a backfill, and rebuilds a corrupt one', async () => {
    const run = await demo({ seed: 4 })
    const client = run.devnet.client
    await client.request({ method: 'evm_setIntervalMining', params: [0] } as never)
    await client.request({ method: 'evm_setAutomine', params: [true] } as never)
    for (let i = 0; i < 30; i++) await client.request({ method: 'evm_mine', params: [] } as never)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const saved = loadSnapshot(run.dataDir, {
      strategy: 'aave-v3',
      chainId: run.devnet.chainId,
      market: run.devnet.addresses.addressesProvider,
    })
    expect(saved.status).toBe('ok')
    // Kill: no drain, no final snapshot; only what was persisted along the way survives.
    run.daemon.watcher.stop()
    await setPrice(run.devnet, 'LINK', '12', client)
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const config = parseConfig(
      { devnet: run.devnetFile, dataDir: run.dataDir, minProfitUsd: '5' },
      env,
      registry,
    )
    const resumed = await startDaemon(config, env, quiet())
    cleanups.push(() => resumed.stop(5_000))
    expect(resumed.startedFrom).toBe('snapshot')
    expect(await resumed.strategy.verify()).toMatchObject({ mismatches: [] })

    /** A dry-run daemon over the data dir: it must rebuild from logs, not refuse to start. */
    const startsFromBackfill = async () => {
      const daemon = await startDaemon(
        parseConfig({ devnet: run.devnetFile, dataDir: run.dataDir, dryRun: true }, {}, registry),
        {},
        quiet(),
      )
      cleanups.push(() => daemon.stop(1_000))
      expect(daemon.startedFrom).toBe('backfill')
      expect(await daemon.strategy.verify()).toMatchObject({ mismatches: [] })
      return daemon
    }
    writeFileSync(snapshotPath(run.dataDir), '{"meta": {"format": 1, "blockNumber": "1"')
    const rebuilt = await startsFromBackfill()

    // Valid JSON and header, a damaged state inside (an account's eMode not a number): the daemon's
    // own cache is broken, not the user's input, so it rebuilds rather than refusing to start.
    await resumed.stop(5_000)
    await rebuilt.stop(1_000)
    const good = readFileSync(snapshotPath(run.dataDir), 'utf8')
    expect(good).toContain('"eMode":0')
    writeFileSync(snapshotPath(run.dataDir), good.replace('"eMode":0', '"eMode":"zero"'))
    await startsFromBackfill()
  })

  it('cancels a backrun already sent when a later pending update makes the account healthy again', async () => {
    const run = await demo()
    const c = run.devnet.client
    // Hold the block so both updates and our transactions meet in the same mempool.
    await c.request({ method: 'evm_setIntervalMining', params: [0] } as never)
    const counts = async () => {
      const values = (await run.daemon.metrics.inclusions.get()).values
      const of = (status: string) =>
        values.filter((v) => v.labels.status === status).reduce((n, v) => n + v.value, 0)
      return { cancelled: of('cancelled'), reverted: of('reverted'), success: of('success') }
    }
    await sendPendingPrice(run, 'WETH', '1500')
    const until = async (check: () => boolean, ms = 15_000) => {
      const deadline = Date.now() + ms
      while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      return check()
    }
    expect(await until(() => run.daemon.executor.inFlightBackruns().length > 0)).toBe(true)
    // Every backrun of that update has been worked through (sent or refused) before counting.
    await run.daemon.engine.idle()
    const sent = run.daemon.executor.inFlightBackruns()
    // The price comes back before any block: the accounts are healthy again.
    await sendPendingPrice(run, 'WETH', '2000', '6')
    expect(await until(() => run.daemon.executor.inFlightBackruns().length === 0)).toBe(true)
    // Mine only once every cancel has reached the node: a cancel asked for is not yet a cancel sent
    // (signing and the HTTP round trip take a while on a loaded machine), and a block mined in
    // between would carry the backrun itself.
    const cancelsSent = async () =>
      (await run.daemon.metrics.submissions.get()).values
        .filter((v) => v.labels.kind === 'cancel')
        .reduce((n, v) => n + v.value, 0)
    const deadline = Date.now() + 15_000
    while ((await cancelsSent()) < sent.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
    expect(await cancelsSent()).toBe(sent.length)
    await c.request({ method: 'evm_mine', params: [] } as never)
    await c.request({ method: 'evm_setIntervalMining', params: [1] } as never)
    expect(await until(() => run.daemon.executor.inFlightCount() === 0, 20_000)).toBe(true)
    const after = await counts()
    expect(after.cancelled).toBe(sent.length)
    expect(after.reverted).toBe(0)
    // The cancelled accounts were not liquidated in that block (later blocks may liquidate whatever
    // the real state makes liquidatable, as plain liquidations).
    for (const record of run.daemon.executor.records)
      if (sent.includes(record.account.toLowerCase())) expect(record.predicted).toBe(false)
  })

  it('cancels a backrun a later pending update turns into a loss (its collateral repriced): nothing lands at a loss', async () => {
    const run = await demo()
    const c = run.devnet.client
    // Hold the block: the three updates and our transactions meet in one mempool, and with equal fee
    // caps anvil keeps arrival order, so a backrun of the first update lands before the second.
    await c.request({ method: 'evm_setIntervalMining', params: [0] } as never)
    const until = async (check: () => boolean | Promise<boolean>, ms = 15_000) => {
      const deadline = Date.now() + ms
      while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      return check()
    }
    const counted = async (metric: 'stage' | 'cancel') =>
      metric === 'stage'
        ? ((await run.daemon.metrics.stageSeconds.get()).values.find(
            (v) => v.metricName === 'undertow_stage_seconds_count' && v.labels.stage === 'pending_to_plan',
          )?.value ?? 0)
        : (await run.daemon.metrics.submissions.get()).values
            .filter((v) => v.labels.kind === 'cancel')
            .reduce((n, v) => n + v.value, 0)
    await sendPendingPrice(run, 'WETH', '1500')
    expect(await until(() => run.daemon.executor.inFlightBackruns().length > 0)).toBe(true)
    await run.daemon.engine.idle()
    const sent = run.daemon.executor.inFlightBackruns()
    // WBTC falls 22.5% and LINK too: a WETH backrun already sent that seizes WBTC would take it at
    // the old price, right before the new one lands.
    await sendPendingPrice(run, 'WBTC', '31000')
    await sendPendingPrice(run, 'LINK', '11')
    expect(await until(async () => (await counted('stage')) >= 3)).toBe(true)
    await run.daemon.engine.idle()
    const live = new Set(run.daemon.executor.inFlightBackruns())
    const dropped = sent.filter((key) => !live.has(key))
    // At least one WETH backrun seized WBTC or LINK (the seeded accounts do): it had to go.
    expect(dropped.length).toBeGreaterThan(0)
    expect(await until(async () => (await counted('cancel')) >= dropped.length)).toBe(true)
    await c.request({ method: 'evm_mine', params: [] } as never)
    await c.request({ method: 'evm_setIntervalMining', params: [1] } as never)
    expect(await waitUntilSettled(run)).toBe(true)
    // Every landed liquidation, valued at the oracle's prices once all three updates landed (read
    // from the chain, not the mirror), pays its gas and the minimum profit.
    const addresses = run.devnet.addresses
    const priceOf = (asset: Address) =>
      c.readContract({
        address: addresses.oracle,
        abi: aaveOracleAbi,
        functionName: 'getAssetPrice',
        args: [asset],
      })
    const decimalsOf = (asset: Address) =>
      Object.values(addresses.reserves).find((r) => r.asset.toLowerCase() === asset.toLowerCase())?.decimals
    const weth = addresses.reserves.WETH?.asset as Address
    const nativeBase = await priceOf(weth)
    const minProfitBase = parseUnits(run.minProfitUsd, 8)
    const records = run.daemon.executor.records
    expect(records.length).toBeGreaterThan(0)
    for (const record of records) {
      const r = aaveRecord(record)
      const value =
        (r.received * (await priceOf(r.receiveAsset))) / 10n ** BigInt(decimalsOf(r.receiveAsset) ?? 18) -
        (r.repaid * (await priceOf(r.repayAsset))) / 10n ** BigInt(decimalsOf(r.repayAsset) ?? 18)
      const gasBase = (record.gasUsed * record.effectiveGasPrice * nativeBase) / 10n ** 18n
      expect({ account: record.account, net: value - gasBase >= minProfitBase }).toEqual({
        account: record.account,
        net: true,
      })
    }
  })

  it('spreads a burst over its hot wallets, each on its own nonces: every account once, nothing reverted', async () => {
    const run = await demo({ hotWallets: 2 })
    const wallets = [
      run.liquidator,
      ...DEMO_HOT_WALLET_KEYS.slice(0, 2).map((k) => privateKeyToAccount(k).address),
    ]
    const hash = await sendPendingPrice(run, 'WETH', '1500')
    expect(await waitUntilSettled(run)).toBe(true)
    const records = run.daemon.executor.records
    const backruns = records.filter((r) => r.predicted)
    expect(backruns.length).toBeGreaterThanOrEqual(3)
    // Every backrun of the update, from whichever wallet, landed right behind it.
    const oracleBlock = (await run.devnet.client.getTransactionReceipt({ hash })).blockNumber
    for (const r of backruns) expect(r.blockNumber).toBe(oracleBlock)
    const senders = new Set(backruns.map((r) => r.event.liquidator.toLowerCase()))
    expect(senders.size).toBeGreaterThanOrEqual(2)
    for (const sender of senders) expect(wallets.map((w) => w.toLowerCase())).toContain(sender)
    // One backrun per account: no two wallets took the same liquidation.
    const accounts = backruns.map((r) => r.account.toLowerCase())
    expect(new Set(accounts).size).toBe(accounts.length)
    for (const r of records) expect(r.agreed).toBe(true)
    const inclusions = await run.daemon.metrics.inclusions.get()
    expect(
      inclusions.values.filter((v) => v.labels.status === 'reverted').reduce((n, v) => n + v.value, 0),
    ).toBe(0)
    expect(openProfitable(run.daemon)).toEqual([])
  })
})
