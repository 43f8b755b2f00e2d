/**
 * Hot wallets: the pool hands each opportunity to one wallet (the least loaded; routes to the
 * primary), never lets two wallets hold one key, and routes a cancel to the wallet holding it. The
 * keys are read one line per mistake (the daemon's startup validation exits 2 on a UsageError).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config.js'
import { loadBundleAuth, loadHotWallets, loadSigner } from '../../../src/daemon.js'
import { DEMO_BUNDLE_AUTH_KEY, DEMO_HOT_WALLET_KEYS, DEMO_LIQUIDATOR_KEY } from '../../../src/demo.js'
import type { ExecuteOutcome, ExecutionRecord, Executor } from '../../../src/executor/executor.js'
import { appendBounded } from '../../../src/executor/tracker.js'
import { createWalletPool } from '../../../src/executor/walletPool.js'
import type { ExecutionRoute, Opportunity } from '../../../src/types.js'
import { registry } from '../../../strategies/index.js'
import { header, opportunity } from '../../support/fakes.js'
import { usageErrorOf } from '../../support/helpers.js'

/** A wallet whose executions finish when the test says so; it claims a key as the real one does. */
function wallet(name: string) {
  const claimed = new Set<string>()
  const finish: (() => void)[] = []
  const handed: string[] = []
  const cancels: string[] = []
  const executor: Executor = {
    records: [],
    tickToTrade: [],
    address: undefined,
    prepare: async () => undefined,
    onBlock: async () => undefined,
    isBusy: (key) => claimed.has(key),
    inFlightCount: () => 0,
    inFlightBackruns: () => [...claimed],
    repriceBackruns: () => undefined,
    async cancel(key) {
      cancels.push(key)
      return true
    },
    execute(opp: Opportunity): Promise<ExecuteOutcome> {
      if (claimed.has(opp.key)) return Promise.resolve('skipped')
      claimed.add(opp.key)
      handed.push(opp.key)
      return new Promise((resolve) => {
        finish.push(() => {
          claimed.delete(opp.key)
          resolve('sent')
        })
      })
    },
  }
  return {
    name,
    executor,
    handed,
    cancels,
    finishAll: () => {
      for (const f of finish.splice(0)) f()
    },
  }
}

const flash: ExecutionRoute = {
  name: 'flash',
  gasEstimate: 1n,
  probes: [],
  call: () => undefined,
}

describe('wallet pool', () => {
  it('spreads a burst evenly, sends routed opportunities from the primary and never one key twice', async () => {
    const w = [wallet('a'), wallet('b'), wallet('c')]
    const pool = createWalletPool(w.map((x) => x.executor))
    const runs = Array.from({ length: 6 }, (_, i) => pool.execute(opportunity(`k${i}`, 1n), header(1)))
    const routed = pool.execute(opportunity('flash', 1n, { routes: [flash] }), header(1))
    // Already held by a wallet: no other wallet takes it.
    expect(await pool.execute(opportunity('k1', 1n), header(1))).toBe('skipped')
    expect(w.map((x) => x.handed.length)).toEqual([3, 2, 2])
    expect(w[0]?.handed).toContain('flash')
    expect(new Set(w.flatMap((x) => x.handed)).size).toBe(7)
    // The cancel goes to the wallet that holds the key.
    const holder = w.find((x) => x.handed.includes('k4'))
    expect(await pool.cancel('k4', 'healthy again')).toBe(true)
    expect(holder?.cancels).toEqual(['k4'])
    expect(w.filter((x) => x !== holder).flatMap((x) => x.cancels)).toEqual([])
    for (const x of w) x.finishAll()
    expect(await Promise.all([...runs, routed])).toEqual(Array(7).fill('sent'))
    // Finished: the key is free again, for the least loaded wallet.
    void pool.execute(opportunity('k1', 1n), header(2))
    expect(w.flatMap((x) => x.handed).filter((k) => k === 'k1').length).toBe(2)
  })

  it("merges the wallets' records by inclusion time, and sees records added after a read", () => {
    const w = [wallet('a'), wallet('b')]
    const pool = createWalletPool(w.map((x) => x.executor))
    const record = (key: string, includedAt: number) => ({ key, includedAt }) as ExecutionRecord
    w[0]?.executor.records.push(record('a1', 30))
    w[1]?.executor.records.push(record('b1', 10))
    expect(pool.records.map((r) => r.key)).toEqual(['b1', 'a1'])
    w[1]?.executor.records.push(record('b2', 20))
    w[0]?.executor.records.push(record('a2', 40))
    expect(pool.records.map((r) => r.key)).toEqual(['b1', 'b2', 'a1', 'a2'])
    expect(pool.records.map((r) => r.key)).toEqual(['b1', 'b2', 'a1', 'a2'])
  })

  it("keeps each wallet's newest records only, and sees a full list that dropped its oldest", () => {
    const w = [wallet('a'), wallet('b')]
    const pool = createWalletPool(w.map((x) => x.executor))
    const record = (key: string, includedAt: number) => ({ key, includedAt }) as ExecutionRecord
    const a = w[0]?.executor.records as ExecutionRecord[]
    appendBounded(a, record('a1', 10), 2)
    appendBounded(a, record('a2', 20), 2)
    expect(pool.records.map((r) => r.key)).toEqual(['a1', 'a2'])
    // Full: the newest in, the oldest out; same length, new content.
    appendBounded(a, record('a3', 30), 2)
    expect(a.map((r) => r.key)).toEqual(['a2', 'a3'])
    expect(pool.records.map((r) => r.key)).toEqual(['a2', 'a3'])
  })

  it('is the wallet itself when there is only one', () => {
    const only = wallet('a').executor
    expect(createWalletPool([only])).toBe(only)
  })
})

describe('hot wallet keys', () => {
  const configWith = (hotWalletKeyEnvs: string[], extra: Record<string, unknown> = {}) => {
    const path = join(mkdtempSync(join(tmpdir(), 'undertow-hot-')), 'config.json')
    writeFileSync(path, JSON.stringify({ execution: { hotWalletKeyEnvs, ...extra } }))
    return parseConfig(
      {
        config: path,
        rpcHttp: 'http://127.0.0.1:8545',
        strategyFlags: { addressesProvider: '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e' },
      },
      {},
      registry,
    )
  }
  const env = {
    UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY,
    HOT_1: DEMO_HOT_WALLET_KEYS[0],
    HOT_2: DEMO_HOT_WALLET_KEYS[1],
  }

  it('reads each key into its own wallet', () => {
    const config = configWith(['HOT_1', 'HOT_2'])
    const signer = loadSigner(config, env) as LocalAccount
    expect(loadHotWallets(config, env, signer).map((w) => w.address)).toEqual(
      DEMO_HOT_WALLET_KEYS.slice(0, 2).map((k) => privateKeyToAccount(k).address),
    )
  })

  it('refuses a missing, malformed or repeated key in one line naming the variable, never the key', () => {
    const signer = loadSigner(configWith([]), env) as LocalAccount
    expect(usageErrorOf(() => loadHotWallets(configWith(['HOT_3']), env, signer))).toBe(
      "environment variable HOT_3 is not set (it must hold a hot wallet's private key: execution.hotWalletKeyEnvs)",
    )
    const bad = { ...env, HOT_3: '0x1234' }
    expect(usageErrorOf(() => loadHotWallets(configWith(['HOT_3']), bad, signer))).toBe(
      'the hot wallet key in HOT_3 is malformed (expected 32 bytes of hex)',
    )
    const twice = { ...env, HOT_3: DEMO_LIQUIDATOR_KEY.slice(2) }
    const message = usageErrorOf(() => loadHotWallets(configWith(['HOT_1', 'HOT_3']), twice, signer))
    expect(message).toBe('the hot wallet key in HOT_3 is the same wallet as the key in UNDERTOW_PRIVATE_KEY')
    expect(message).not.toContain(DEMO_LIQUIDATOR_KEY.slice(2, 12))
    const repeated = usageErrorOf(() => loadHotWallets(configWith(['HOT_1', 'HOT_1']), env, signer))
    expect(repeated).toBe('the hot wallet key in HOT_1 is the same wallet as the key in HOT_1')
  })

  it('refuses a bundle auth key that is one of the hot wallets', () => {
    const config = configWith(['HOT_1'], { backrunLane: 'bundle', builders: [{ url: 'http://127.0.0.1:1' }] })
    const signer = loadSigner(config, env) as LocalAccount
    const hot = loadHotWallets(config, env, signer)
    expect(
      loadBundleAuth(config, { ...env, UNDERTOW_BUNDLE_AUTH_KEY: DEMO_BUNDLE_AUTH_KEY }, signer, hot),
    ).toBeDefined()
    expect(
      usageErrorOf(() =>
        loadBundleAuth(config, { ...env, UNDERTOW_BUNDLE_AUTH_KEY: DEMO_HOT_WALLET_KEYS[0] }, signer, hot),
      ),
    ).toBe(
      "the bundle auth key in UNDERTOW_BUNDLE_AUTH_KEY is one of the hot wallets' keys; use a separate key (it is public at builders)",
    )
  })
})
