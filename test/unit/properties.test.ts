/**
 * Property-based tests (fast-check, ≥ 1,000 cases each; a failure prints its seed and the shrunk
 * counterexample): every parser of outside input either yields a valid value or fails in the one
 * way it is meant to — never with a crash.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { encodeAbiParameters, encodeFunctionData, type Hex, parseAbi, toEventSelector } from 'viem'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { UsageError } from '../../src/errors.js'
import { decodeHermesUpdate, PriceStreamError } from '../../src/prices/hermesStream.js'
import { decodeState, encodeState, loadSnapshot, snapshotPath } from '../../src/store/snapshotStore.js'
import { poolAbi, scaledTokenAbi } from '../../strategies/aave-v3/abi.js'
import { applyLogs } from '../../strategies/aave-v3/applyLogs.js'
import { decodeOracleAnswer } from '../../strategies/aave-v3/oracleDecode.js'
import { parseMarketState } from '../../strategies/aave-v3/stateSchema.js'
import { registry } from '../../strategies/index.js'
import { addr, market, reserve } from '../support/marketFixtures.js'

const RUNS = { numRuns: 1_000 }
const dir = mkdtempSync(join(tmpdir(), 'undertow-props-'))
const hexBytes = (min = 0, max = 600) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)

describe('config parser', () => {
  const keys = [
    'strategy',
    'chainId',
    'rpc',
    'market',
    'execution',
    'watchdogBlocks',
    'blockTimeSeconds',
    'metricsPort',
    'metricsHost',
    'crossCheckSample',
    'logLevel',
    'dataDir',
    'devnet',
    'nonsense',
  ]
  const value = fc.oneof(
    fc.jsonValue(),
    fc.constantFrom(
      'http://127.0.0.1:8545',
      'ws://127.0.0.1:8546',
      '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e',
    ),
    fc.record(
      { http: fc.oneof(fc.string(), fc.constant('http://x:1')), ws: fc.string() },
      { requiredKeys: [] },
    ),
    fc.record(
      {
        addressesProvider: fc.constantFrom('0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e', '0x12', 7),
        preset: fc.constantFrom('AaveV3Ethereum', 'Nope'),
        clearinghouse: fc.string(),
      },
      { requiredKeys: [] },
    ),
    fc.record(
      {
        minProfitUsd: fc.jsonValue(),
        dryRun: fc.jsonValue(),
        liquidator: fc.string(),
        maxConcurrent: fc.integer(),
      },
      { requiredKeys: [] },
    ),
  )
  const config = fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 8 }))

  it('random JSON is a valid config or one UsageError line, nothing else', () => {
    let i = 0
    fc.assert(
      fc.property(config, fc.boolean(), (json, asText) => {
        const path = join(dir, `config-${i++}.json`)
        writeFileSync(path, asText ? JSON.stringify(json).slice(0, 40) : JSON.stringify(json))
        try {
          const parsed = parseConfig({ config: path }, {}, registry)
          expect(typeof parsed.rpcHttp).toBe('string')
          expect(Object.isFrozen(parsed)).toBe(true)
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError)
          expect((error as Error).message).not.toMatch(/\n/)
        }
      }),
      RUNS,
    )
  })
})

describe('pending oracle decoders', () => {
  const selectors = ['0xc9807539', '0xb1dc65a4', '0x99e6ac57', '0xeb9fdd2b'] as const
  it('random calldata, also behind real selectors, decodes to an answer or to nothing', () => {
    fc.assert(
      fc.property(fc.option(fc.constantFrom(...selectors)), hexBytes(), (selector, body) => {
        const input = (selector ? `${selector}${body.slice(2)}` : body) as Hex
        const answer = decodeOracleAnswer(input)
        expect(answer === undefined || typeof answer === 'bigint').toBe(true)
      }),
      RUNS,
    )
  })

  it('any well-formed OCR2 report yields its median observation', () => {
    const abi = parseAbi([
      'function transmit(bytes32[3] reportContext, bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
    ])
    const int192 = fc.bigInt({ min: -(2n ** 191n), max: 2n ** 191n - 1n })
    fc.assert(
      fc.property(fc.array(int192, { minLength: 1, maxLength: 31 }), (observations) => {
        const sorted = [...observations].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        const report = encodeAbiParameters(
          [{ type: 'uint32' }, { type: 'bytes32' }, { type: 'int192[]' }, { type: 'int192' }],
          [1, `0x${'00'.repeat(32)}`, sorted, 0n],
        )
        const w = `0x${'00'.repeat(32)}` as const
        const data = encodeFunctionData({
          abi,
          functionName: 'transmit',
          args: [[w, w, w], report, [], [], w],
        })
        expect(decodeOracleAnswer(data)).toBe(sorted[Math.floor(sorted.length / 2)])
      }),
      RUNS,
    )
  })
})

describe('price-stream payload decoder', () => {
  const valid = fc
    .array(
      fc.record({
        id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
        price: fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
        expo: fc.integer({ min: -18, max: 0 }),
        publish_time: fc.integer({ min: 0, max: 2 ** 40 }),
        blob: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('hex')),
      }),
      { minLength: 1, maxLength: 5 },
    )
    .map((feeds) => ({
      binary: { encoding: 'hex', data: feeds.map((f) => f.blob) },
      parsed: feeds.map((f) => ({
        id: f.id,
        price: { price: f.price, conf: '1', expo: f.expo, publish_time: f.publish_time },
      })),
    }))

  it('a well-formed payload decodes to one feed per blob, exactly', () => {
    fc.assert(
      fc.property(valid, (payload) => {
        const decoded = decodeHermesUpdate(JSON.stringify(payload))
        expect(decoded.map((d) => d.feed.price)).toEqual(payload.parsed.map((p) => BigInt(p.price.price)))
        expect(decoded.map((d) => d.blob)).toEqual(payload.binary.data.map((b) => `0x${b}`))
      }),
      RUNS,
    )
  })

  it('anything else is a PriceStreamError', () => {
    const garbage = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      valid.map((p) => JSON.stringify(p).slice(0, -3)),
      valid.map((p) => JSON.stringify({ ...p, binary: { data: [...p.binary.data, 'ab'] } })),
    )
    fc.assert(
      fc.property(garbage, (text) => {
        try {
          const decoded = decodeHermesUpdate(text)
          expect(decoded.length).toBeGreaterThan(0)
        } catch (error) {
          expect(error).toBeInstanceOf(PriceStreamError)
        }
      }),
      RUNS,
    )
  })
})

describe('snapshot loader', () => {
  const expected = { strategy: 'aave-v3', chainId: 1, market: '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e' }
  const good = () => {
    const m = market([reserve(0), reserve(1)], [100n, 200n])
    m.accounts.set(addr(77).toLowerCase(), { config: 3n, eMode: 0, scaledCollateral: [5n], scaledDebt: [1n] })
    m.block.hash = `0x${'ab'.repeat(32)}`
    return encodeState({
      meta: {
        format: 1,
        savedAt: 'now',
        strategy: 'aave-v3',
        chainId: 1,
        market: expected.market,
        blockNumber: '1',
        blockHash: `0x${'00'.repeat(32)}`,
      },
      state: m,
    })
  }

  it('a truncated, edited or random file is reported, never thrown; a restored state matches the schema', () => {
    const text = good()
    const edits = fc.oneof(
      fc.string(),
      fc.nat({ max: text.length }).map((n) => text.slice(0, n)),
      fc
        .tuple(fc.nat({ max: text.length - 1 }), fc.string({ minLength: 1, maxLength: 3 }))
        .map(([at, s]) => text.slice(0, at) + s + text.slice(at + 1)),
      fc.constant(text),
    )
    let i = 0
    fc.assert(
      fc.property(edits, (content) => {
        const sub = join(dir, `snap-${i++}`)
        mkdirSync(sub, { recursive: true })
        writeFileSync(snapshotPath(sub), content)
        const loaded = loadSnapshot(sub, expected)
        expect(['ok', 'corrupt', 'mismatch', 'missing']).toContain(loaded.status)
        if (loaded.status === 'ok') {
          const parsed = parseMarketState(loaded.state)
          if ('state' in parsed) expect(parsed.state.reserves.size).toBeGreaterThanOrEqual(0)
          else expect(parsed.error).not.toMatch(/\n/)
        }
      }),
      RUNS,
    )
    // The untouched file restores.
    const sub = join(dir, 'snap-good')
    mkdirSync(sub, { recursive: true })
    writeFileSync(snapshotPath(sub), text)
    const loaded = loadSnapshot(sub, expected)
    expect(loaded.status).toBe('ok')
    expect('state' in parseMarketState(loaded.status === 'ok' ? loaded.state : undefined)).toBe(true)
    expect(decodeState(encodeState(1n))).toBe(1n)
  })
})

describe('Aave log decoders', () => {
  const events = [...poolAbi, ...scaledTokenAbi]
    .filter((i) => i.type === 'event')
    .map((e) => toEventSelector(e as never))
  const topic = fc.oneof(
    fc.constantFrom(...events),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex),
  )
  it('random logs at the market’s own addresses never throw and leave balances non-negative', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.constantFrom(addr(9), addr(100), addr(200), addr(101), addr(0xabc)),
            topics: fc.array(topic, { minLength: 1, maxLength: 4 }),
            data: hexBytes(0, 200),
          }),
          { maxLength: 8 },
        ),
        (logs) => {
          const m = market([reserve(0), reserve(1)], [100n, 200n])
          applyLogs(
            m,
            logs.map((l, i) => ({
              address: l.at,
              topics: l.topics as [Hex, ...Hex[]],
              data: l.data,
              blockNumber: 2n,
              blockHash: `0x${'11'.repeat(32)}`,
              logIndex: i,
              transactionHash: `0x${'22'.repeat(32)}`,
              blockTimestamp: 1100n,
            })),
            1100n,
          )
          for (const p of m.accounts.values())
            for (const b of [...p.scaledCollateral, ...p.scaledDebt]) expect((b ?? 0n) >= 0n).toBe(true)
        },
      ),
      RUNS,
    )
  })
})
