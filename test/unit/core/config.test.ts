/**
 * parseConfig: precedence, defaults, one-line errors naming the full path, and a strategy's own
 * config section merged into the validation (with a second, fake module in the registry).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { parseConfig } from '../../../src/config.js'
import { UsageError } from '../../../src/errors.js'
import type { StrategyModule, StrategyRegistry } from '../../../src/strategyModule.js'
import { registry as realRegistry } from '../../../strategies/index.js'
import { usageErrorOf } from '../../support/helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'undertow-config-'))
const file = (name: string, value: unknown) => {
  const path = join(dir, name)
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value))
  return path
}
const PROVIDER = '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e'

/** A second protocol whose section is { clearinghouse }, to show sections are per strategy. */
const fakeModule: StrategyModule<{ clearinghouse: string }> = {
  name: 'fake-perps',
  description: 'test module',
  marketSchema: z.strictObject({ clearinghouse: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'not an address') }),
  flags: [{ flags: '--clearinghouse <address>', description: 'x', name: 'clearinghouse' }],
  resolveTarget({ section, flags }) {
    const clearinghouse =
      (flags.clearinghouse as string | undefined) ??
      (section as { clearinghouse?: string } | undefined)?.clearinghouse
    if (!clearinghouse) throw new UsageError('no clearinghouse')
    return { options: { clearinghouse }, id: clearinghouse, fromBlock: 0n }
  },
  create: () => Promise.reject(new Error('not used')),
}
const registry: StrategyRegistry = {
  modules: [...realRegistry.modules, fakeModule as unknown as StrategyModule<unknown>],
  defaultName: realRegistry.defaultName,
  find(name, what = 'strategy') {
    const m = this.modules.find((x) => x.name === name)
    if (!m)
      throw new UsageError(
        `unknown ${what} "${name}" (available: ${this.modules.map((x) => x.name).join(', ')})`,
      )
    return m
  },
}

const errorOf = usageErrorOf

describe('parseConfig', () => {
  it('applies defaults once and freezes the result', () => {
    const config = parseConfig(
      { rpcHttp: 'http://127.0.0.1:8545', strategyFlags: { addressesProvider: PROVIDER.toLowerCase() } },
      {},
      registry,
    )
    expect(config.strategy).toBe('aave-v3')
    expect(config.target.id).toBe(PROVIDER)
    expect(config.target.fromBlock).toBe(0n)
    expect(config.execution).toEqual({
      privateKeyEnv: 'UNDERTOW_PRIVATE_KEY',
      hotWalletKeyEnvs: [],
      minProfitUsd: '1',
      priorityFeeShareBps: 3_000,
      bidPercentile: 75,
      bidWindow: 100,
      bidMinSamples: 5,
      maxFeePerGasGwei: '300',
      replaceAfterBlocks: 2,
      maxConcurrent: 2,
      burst: true,
      gasLimitMarginBps: 3_000,
      dryRun: false,
      // The public mempool unless private lanes are configured.
      lane: 'public',
      backrunLane: 'public',
      builders: [],
      bundleAuthKeyEnv: 'UNDERTOW_BUNDLE_AUTH_KEY',
      bundleBlocks: 3,
    })
    expect(config.dataDir).toBe('./data')
    // /metrics is not exposed beyond the machine unless asked for.
    expect(config.metricsHost).toBe('127.0.0.1')
    expect(config.crossCheckSample).toBe(16)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('flag > environment > file > default', () => {
    const config = file('precedence.json', {
      rpc: { http: 'http://file:1' },
      market: { addressesProvider: PROVIDER, fromBlock: 7 },
      execution: { minProfitUsd: '3' },
      logLevel: 'warn',
    })
    const env = {
      UNDERTOW_MIN_PROFIT_USD: '4',
      UNDERTOW_RPC_HTTP: 'http://env:1',
      UNDERTOW_LOG_LEVEL: 'error',
    }
    const fromFile = parseConfig({ config }, {}, registry)
    expect([
      fromFile.execution.minProfitUsd,
      fromFile.rpcHttp,
      fromFile.logLevel,
      fromFile.target.fromBlock,
    ]).toEqual(['3', 'http://file:1', 'warn', 7n])
    const fromEnv = parseConfig({ config }, env, registry)
    expect([fromEnv.execution.minProfitUsd, fromEnv.rpcHttp, fromEnv.logLevel]).toEqual([
      '4',
      'http://env:1',
      'error',
    ])
    const fromFlags = parseConfig(
      { config, minProfitUsd: '5', rpcHttp: 'http://flag:1', logLevel: 'debug', fromBlock: 9n },
      env,
      registry,
    )
    expect([
      fromFlags.execution.minProfitUsd,
      fromFlags.rpcHttp,
      fromFlags.logLevel,
      fromFlags.target.fromBlock,
    ]).toEqual(['5', 'http://flag:1', 'debug', 9n])
  })

  it('a bad key in the strategy section names its full path', () => {
    const unknown = file('unknown.json', {
      rpc: { http: 'http://x:1' },
      market: { addressesProvider: PROVIDER, pool: '0x1' },
    })
    expect(errorOf(() => parseConfig({ config: unknown }, {}, registry))).toMatch(/unknown key market\.pool$/)
    const badValue = file('bad.json', {
      rpc: { http: 'http://x:1' },
      market: { addressesProvider: PROVIDER, fromBlock: -1 },
    })
    expect(errorOf(() => parseConfig({ config: badValue }, {}, registry))).toMatch(/: market\.fromBlock: /)
    const core = file('core.json', { rpc: { http: 'http://x:1' }, execution: { turbo: true } })
    expect(errorOf(() => parseConfig({ config: core }, {}, registry))).toMatch(
      /unknown key execution\.turbo$/,
    )
    const percentile = file('percentile.json', {
      rpc: { http: 'http://x:1' },
      execution: { bidPercentile: 150 },
    })
    expect(errorOf(() => parseConfig({ config: percentile }, {}, registry))).toMatch(
      /execution\.bidPercentile/,
    )
    // null turns learning off: the configured share always.
    const off = file('off.json', {
      rpc: { http: 'http://x:1' },
      market: { addressesProvider: PROVIDER },
      execution: { bidPercentile: null },
    })
    expect(parseConfig({ config: off }, {}, registry).execution.bidPercentile).toBeUndefined()
  })

  it("validates the section with the chosen strategy's schema", () => {
    const perps = file('perps.json', {
      strategy: 'fake-perps',
      rpc: { http: 'http://x:1' },
      market: { clearinghouse: '0x00000000000000000000000000000000000000c1' },
    })
    const config = parseConfig({ config: perps }, {}, registry)
    expect(config.target.options).toEqual({ clearinghouse: '0x00000000000000000000000000000000000000c1' })
    // The same section is not an Aave one.
    expect(errorOf(() => parseConfig({ config: perps, strategy: 'aave-v3' }, {}, registry))).toMatch(
      /unknown key market\.clearinghouse/,
    )
    const bad = file('perps-bad.json', {
      strategy: 'fake-perps',
      rpc: { http: 'http://x:1' },
      market: { clearinghouse: 'x' },
    })
    expect(errorOf(() => parseConfig({ config: bad }, {}, registry))).toMatch(
      /market\.clearinghouse: not an address/,
    )
  })

  it('one-line errors for bad input', () => {
    const base = { rpcHttp: 'http://x:1', strategyFlags: { addressesProvider: PROVIDER } }
    expect(errorOf(() => parseConfig({ ...base, strategy: 'maker' }, {}, registry))).toBe(
      'unknown strategy "maker" (available: aave-v3, xmargin-perps, fake-perps)',
    )
    expect(
      errorOf(() => parseConfig({ strategyFlags: { addressesProvider: PROVIDER } }, {}, registry)),
    ).toMatch(/^no RPC URL/)
    expect(
      errorOf(() =>
        parseConfig({ rpcHttp: 'ftp://x', strategyFlags: { addressesProvider: PROVIDER } }, {}, registry),
      ),
    ).toMatch(/not an http\(s\):\/\/ or ws\(s\):\/\/ URL/)
    expect(errorOf(() => parseConfig({ ...base, minProfitUsd: '-1' }, {}, registry))).toMatch(/min profit/)
    expect(errorOf(() => parseConfig({ ...base, logLevel: 'loud' }, {}, registry))).toBe(
      'unknown log level "loud"',
    )
    expect(errorOf(() => parseConfig({ rpcHttp: 'http://x:1' }, {}, registry))).toMatch(/^no market/)
    expect(
      errorOf(() =>
        parseConfig(
          { rpcHttp: 'http://x:1', strategyFlags: { market: 'AaveV3Ethereum' }, chainId: 10 },
          {},
          registry,
        ),
      ),
    ).toBe('market AaveV3Ethereum is on chain 1, but the chain id is set to 10')
    expect(errorOf(() => parseConfig(base, { UNDERTOW_CHAIN_ID: 'x' }, registry))).toBe(
      'UNDERTOW_CHAIN_ID is not a positive integer',
    )
    const secret = file('secret.json', {
      rpc: { http: 'env:MY_RPC' },
      market: { addressesProvider: PROVIDER },
    })
    expect(errorOf(() => parseConfig({ config: secret }, {}, registry))).toBe(
      'rpc.http refers to environment variable MY_RPC, which is not set',
    )
    expect(parseConfig({ config: secret }, { MY_RPC: 'https://node.example/TOKEN' }, registry).rpcHttp).toBe(
      'https://node.example/TOKEN',
    )
    expect(
      errorOf(() =>
        parseConfig({ ...base, liquidator: '0x00000000000000000000000000000000DeaDBeef' }, {}, registry),
      ),
    ).toMatch(/^--liquidator .* needs --dry-run$/)
    expect(errorOf(() => parseConfig(base, { UNDERTOW_METRICS_PORT: '80a' }, registry))).toBe(
      'UNDERTOW_METRICS_PORT: expected a port number, got "80a"',
    )
    const badLiquidator = file('liquidator.json', {
      rpc: { http: 'http://x:1' },
      market: { addressesProvider: PROVIDER },
      execution: { dryRun: true, liquidator: '0x1234' },
    })
    expect(errorOf(() => parseConfig({ config: badLiquidator }, {}, registry))).toMatch(
      /liquidator\.json: execution\.liquidator: expected a 0x-prefixed 20-byte address$/,
    )
    expect(errorOf(() => parseConfig({ config: file('broken.json', '{"rpc": ') }, {}, registry))).toMatch(
      /is not valid JSON/,
    )
  })

  it('takes the strategy from the devnet file and refuses a conflicting one', () => {
    const devnet = file('devnet.json', {
      protocol: 'fake-perps',
      rpcUrl: 'http://127.0.0.1:1',
      chainId: 31337,
      addresses: {},
    })
    const config = parseConfig({ devnet, strategyFlags: { clearinghouse: '0xc1' } }, {}, registry)
    expect(config.strategy).toBe('fake-perps')
    expect(config.chainId).toBe(31337)
    expect(errorOf(() => parseConfig({ devnet, strategy: 'aave-v3' }, {}, registry))).toMatch(
      /runs fake-perps, but the strategy is aave-v3/,
    )
  })
})
