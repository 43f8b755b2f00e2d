/**
 * The private lanes end to end: the daemon against the devnet's block builder (anvil with mining
 * off behind the public builder API). Oracle backruns through the order-flow auction land right
 * after their update and never without it; bundles the builder leaves out are resent, and given up
 * once no longer profitable (their nonce then reused); a builder that cannot be reached costs one
 * log line while the other goes on; neither the auth key nor a signed transaction reaches a log.
 */
import { Writable } from 'node:stream'
import type { Hex } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../../src/chain/startAnvil.js'
import {
  DEMO_BUNDLE_AUTH_KEY,
  DEMO_LIQUIDATOR_KEY,
  sendPendingPrice,
  waitUntilSettled,
} from '../../src/demo.js'
import type { Builder } from '../../src/devnet/builder.js'
import { createLogger } from '../../src/logger.js'
import { setPrice } from '../../strategies/aave-v3/devnet/index.js'
import { type AaveDemoRun, startAaveDemo } from '../support/aave.js'
import { openProfitable } from '../support/daemonChecks.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

/** Every log line the daemon writes, kept to check what it says and what it never says. */
function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      done()
    },
  })
  return { lines, log: createLogger('debug', { pretty: false, destination: stream }) }
}

async function demo(
  options: Parameters<typeof startAaveDemo>[0],
): Promise<AaveDemoRun & { builder: Builder }> {
  const run = await startAaveDemo(options)
  cleanups.push(() => run.stop())
  const builder = run.devnet.builder
  if (!builder) throw new Error('the devnet has no builder')
  return Object.assign(run, { builder })
}

const sum = async (
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> },
  labels: Record<string, string> = {},
) =>
  (await metric.get()).values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((n, v) => n + v.value, 0)

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** No secret in any line: the keys, and the signed bytes of every transaction we sent. */
async function expectNoSecrets(run: AaveDemoRun, lines: string[]) {
  const text = lines.join('\n')
  expect(text).not.toContain(DEMO_BUNDLE_AUTH_KEY.slice(2))
  expect(text).not.toContain(DEMO_LIQUIDATOR_KEY.slice(2))
  for (const record of run.daemon.executor.records) {
    const raw = (await run.devnet.client.request({
      method: 'eth_getRawTransactionByHash' as never,
      params: [record.hash] as never,
    })) as Hex
    expect(raw.length).toBeGreaterThan(100)
    // Any 64 hex digits of it (its signature's r and s are in the last 130).
    expect(text).not.toContain(raw.slice(-64))
    expect(text).not.toContain(raw.slice(2, 66))
  }
}

describe('private lanes through the devnet builder', () => {
  it('auction backruns land right after their oracle update, never without it; the rest as bundles', async () => {
    const { lines, log } = capture()
    const run = await demo({ log, builder: { backrunLane: 'auction', lane: 'bundle' } })
    const oracleTxs = [
      await sendPendingPrice(run, 'WETH', '1500'),
      await sendPendingPrice(run, 'WBTC', '31000'),
    ]
    expect(await waitUntilSettled(run)).toBe(true)
    const records = run.daemon.executor.records
    expect(records.length).toBeGreaterThanOrEqual(2)
    expect(openProfitable(run.daemon)).toEqual([])

    // Never before its update; in the update's block only after it with nothing but pending
    // updates and our own backruns between (all one update opens go as one bundle too).
    const ours = new Set<string>(records.map((r) => r.hash))
    const updates = new Set<string>(oracleTxs)
    let direct = 0
    for (const record of records) {
      const dependsOn = record.opportunity.dependsOn
      if (!dependsOn) continue
      const oracle = await run.devnet.client.getTransactionReceipt({ hash: dependsOn.hash })
      const landed = await run.devnet.client.getTransactionReceipt({ hash: record.hash })
      expect(landed.blockNumber).toBeGreaterThanOrEqual(oracle.blockNumber)
      if (landed.blockNumber !== oracle.blockNumber) continue
      const block = await run.devnet.client.getBlock({ blockNumber: landed.blockNumber })
      expect(landed.transactionIndex).toBeGreaterThan(oracle.transactionIndex)
      for (const between of block.transactions.slice(oracle.transactionIndex + 1, landed.transactionIndex))
        expect(
          ours.has(between) || updates.has(between),
          `${between} between an update and its backrun`,
        ).toBe(true)
      // Landed in the block it was planned for: exactly as predicted (a block later the debt
      // has accrued a second more interest).
      if (block.timestamp === record.opportunity.atTimestamp) expect(record.agreed).toBe(true)
      direct++
    }
    // More than one backrun landed in its update's block: they went together.
    expect(direct).toBeGreaterThan(1)
    for (const hash of oracleTxs)
      expect((await run.devnet.client.getTransactionReceipt({ hash })).status).toBe('success')

    const m = run.daemon.metrics
    expect(await sum(m.bundleSends, { method: 'mev_sendBundle', result: 'accepted' })).toBeGreaterThan(0)
    expect(await sum(m.bundleSends, { result: 'error' })).toBe(0)
    // Every inclusion is credited to the builder by its blocks' fee recipient.
    expect(await sum(m.bundleInclusions, { builder: 'devnet' })).toBe(
      new Set(records.map((r) => r.hash)).size,
    )
    // Everything went privately: nothing of ours was in the public pool.
    expect(run.builder.received.length).toBeGreaterThan(0)
    expect(await run.daemon.strategy.verify()).toMatchObject({ mismatches: [] })
    await expectNoSecrets(run, lines)
  })

  it('a bundle left out is resent each block; once unprofitable it is given up and its nonce reused', async () => {
    const { lines, log } = capture()
    const run = await demo({ log, builder: { backrunLane: 'bundle', lane: 'bundle', bundleBlocks: 1 } })
    const m = run.daemon.metrics
    // The builder picks no bundle for a while: the oracle update lands alone, publicly.
    run.builder.skipBundles(1_000)
    await sendPendingPrice(run, 'WETH', '1500')
    await until(
      'bundles are sent and resent',
      async () => (await sum(m.submissions, { kind: 'resend' })) >= 2,
    )
    expect(run.daemon.executor.records).toEqual([])
    const inFlight = run.daemon.executor.inFlightCount()
    expect(inFlight).toBeGreaterThan(0)
    // The price comes back: every liquidation would now revert, so none is resent, and each is
    // given up once its last target block passed.
    await setPrice(run.devnet, 'WETH', '2000', run.devnet.client)
    await until('every bundle is given up', () => run.daemon.executor.inFlightCount() === 0)
    // (Withdrawn as soon as the pending update is seen, or found unprofitable at the next head.)
    expect(await sum(m.bundlesDropped)).toBeGreaterThanOrEqual(inFlight)
    expect(await sum(m.submissions, { kind: 'nonce-fill' })).toBe(0)
    expect(run.daemon.executor.records).toEqual([])
    // Their nonces were never used: the next liquidations take them, and land.
    run.builder.resumeBundles()
    const minedBefore = await run.devnet.client.getTransactionCount({ address: run.liquidator })
    await sendPendingPrice(run, 'WETH', '1450')
    expect(await waitUntilSettled(run)).toBe(true)
    const records = run.daemon.executor.records
    expect(records.length).toBeGreaterThan(0)
    const nonces = await Promise.all(
      records.map(async (r) => (await run.devnet.client.getTransaction({ hash: r.hash })).nonce),
    )
    expect(Math.min(...nonces)).toBe(minedBefore)
    expect(openProfitable(run.daemon)).toEqual([])
    await expectNoSecrets(run, lines)
  })

  it('an unreachable builder costs one log line; the other builder still lands the liquidations', async () => {
    const { lines, log } = capture()
    const dead = `http://127.0.0.1:${await freePort()}`
    const run = await demo({
      log,
      seed: 4,
      builder: { backrunLane: 'auction', lane: 'bundle', extraBuilders: [{ name: 'dead', url: dead }] },
    })
    await sendPendingPrice(run, 'WETH', '1500')
    await sendPendingPrice(run, 'LINK', '11')
    expect(await waitUntilSettled(run)).toBe(true)
    expect(run.daemon.executor.records.length).toBeGreaterThan(0)
    expect(openProfitable(run.daemon)).toEqual([])
    const m = run.daemon.metrics
    expect(await sum(m.bundleSends, { builder: 'dead', result: 'error' })).toBeGreaterThan(1)
    const refusals = lines.filter((l) => l.includes('builder refused a bundle'))
    expect(refusals).toHaveLength(1)
    expect(JSON.parse(refusals[0] as string)).toMatchObject({ builder: 'dead', level: 40 })
    await expectNoSecrets(run, lines)
  })
})
