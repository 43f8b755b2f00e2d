/**
 * Pure parts of the real-market price paths, against hand-computed values: CAPO adapter models,
 * planning prices through an adapter, the wrapped native token per chain, and pending Chainlink
 * OCR1/OCR2 transmits.
 */
import { encodeAbiParameters, encodeFunctionData, parseAbi, toFunctionSelector } from 'viem'
import { describe, expect, it } from 'vitest'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import { wrappedNativeFor } from '../../strategies/aave-v3/nativeToken.js'
import { decodeOracleAnswer } from '../../strategies/aave-v3/oracleDecode.js'
import { liquidationCallData, nativePrice } from '../../strategies/aave-v3/plan.js'
import {
  type AdapterModel,
  type AdapterSource,
  adapterPriceAt,
  assetsMovedBy,
  pricesAt,
} from '../../strategies/aave-v3/priceSources.js'
import { addr, market, reserve } from '../support/marketFixtures.js'

const E18 = 10n ** 18n

describe('CAPO adapter models', () => {
  const ratio: AdapterModel = {
    kind: 'ratio',
    ratioDecimals: 18,
    ratio: 1_150_000_000_000_000_000n, // 1.15
    baseAnswer: 2_000_00000000n,
    snapshotRatio: 1_100_000_000_000_000_000n, // 1.10 at t = 1000
    snapshotTimestamp: 1000n,
    growthPerSecond: 1_000_000_000_000n, // 1e-6 per second
  }

  it('prices base × rate / 10^decimals while the rate is under its cap', () => {
    // cap at t = 1e6: 1.10 + 1e-6 × 999,000 = 2.099 > 1.15: the rate applies. 2000 × 1.15 = 2300.
    expect(adapterPriceAt(ratio, 2_000_00000000n, 1_000_000n)).toBe(2_300_00000000n)
  })

  it('caps the rate at snapshot + growth × elapsed, per second', () => {
    // t = 1000 + 20,000: cap 1.10 + 0.02 = 1.12 < 1.15 → 2000 × 1.12 = 2240.
    expect(adapterPriceAt(ratio, 2_000_00000000n, 21_000n)).toBe(2_240_00000000n)
    // One second later the cap grew by 1e-6: 2000e8 × 1.120001e18 / 1e18 = 2240.002e8.
    expect(adapterPriceAt(ratio, 2_000_00000000n, 21_001n)).toBe(2_240_00200000n)
  })

  it('floors the division and gives 0 (the oracle fallback) for a non-positive input', () => {
    const odd = { ...ratio, ratio: 1_000_000_000_000_000_001n, snapshotRatio: 2n * E18 }
    // 3e8 × (1e18 + 1) / 1e18 = 3e8 + 3e-10 → floored to 3e8.
    expect(adapterPriceAt(odd, 300_000_000n, 2000n)).toBe(300_000_000n)
    expect(adapterPriceAt(ratio, 0n, 2000n)).toBe(0n)
    expect(adapterPriceAt({ ...ratio, ratio: 0n }, 2_000_00000000n, 2000n)).toBe(0n)
    // Before the snapshot the contract's subtraction underflows: no model price.
    expect(adapterPriceAt(ratio, 2_000_00000000n, 999n)).toBeUndefined()
  })

  it('stable cap: the feed, never above the cap', () => {
    const stable: AdapterModel = { kind: 'stable-cap', baseAnswer: 0n, cap: 104_000_000n }
    expect(adapterPriceAt(stable, 99_950_000n, 0n)).toBe(99_950_000n)
    expect(adapterPriceAt(stable, 110_000_000n, 0n)).toBe(104_000_000n)
    expect(adapterPriceAt(stable, -5n, 0n)).toBe(0n)
  })
})

describe('planning prices through adapters', () => {
  const weth = reserve(0, { symbol: 'WETH' })
  const wst = reserve(1, { symbol: 'wstETH' })
  const feed = addr(0xfeed).toLowerCase()
  const setup = () => {
    const m = market([weth, wst], [2_000_00000000n, 2_300_00000000n])
    const adapter: AdapterSource = {
      address: addr(0xada).toLowerCase(),
      assets: [wst.asset.toLowerCase()],
      baseFeed: feed,
      baseFeedAliases: [feed, addr(0xa66).toLowerCase()],
      model: {
        kind: 'ratio',
        ratioDecimals: 18,
        ratio: 1_150_000_000_000_000_000n,
        baseAnswer: 2_000_00000000n,
        snapshotRatio: 1_150_000_000_000_000_000n,
        snapshotTimestamp: 1000n,
        growthPerSecond: 0n,
      },
      modelAgrees: true,
    }
    m.adapters.set(adapter.address, adapter)
    return { m, adapter }
  }

  it('carries a pending underlying-feed answer through the adapter', () => {
    const { m } = setup()
    const predicted = new Map([
      [weth.asset.toLowerCase(), 1_500_00000000n],
      [feed, 1_500_00000000n],
    ])
    const prices = pricesAt(m, 2000n, predicted)
    expect(prices.get(weth.asset.toLowerCase())).toBe(1_500_00000000n)
    // 1500 × 1.15 = 1725.
    expect(prices.get(wst.asset.toLowerCase())).toBe(1_725_00000000n)
    // The feed key is not a price the mirror keeps.
    expect(prices.has(feed)).toBe(false)
    expect(assetsMovedBy(m, predicted.keys())).toEqual(
      new Set([weth.asset.toLowerCase(), feed, wst.asset.toLowerCase()]),
    )
  })

  it('keeps the re-read price once the model disagreed with the oracle', () => {
    const { m, adapter } = setup()
    adapter.modelAgrees = false
    expect(pricesAt(m, 2000n, new Map([[feed, 1n]])).get(wst.asset.toLowerCase())).toBe(2_300_00000000n)
  })
})

describe('the native gas token', () => {
  it('is the chain’s wrapped native token from the address book, not a reserve named like ETH', () => {
    expect(wrappedNativeFor(1)).toBe('0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2') // WETH
    expect(wrappedNativeFor(43114)).toBe('0xB31f66AA3C1e785363F0875A1B74E27b85FD66c7') // WAVAX
    expect(wrappedNativeFor(137)).toBe('0x0d500B1d8E8eF31E21C99d1Db9A6444d3ADf1270') // WPOL
    expect(wrappedNativeFor(56)).toBe('0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c') // WBNB
    expect(wrappedNativeFor(100)).toBe('0xe91D153E0b41518A2Ce8Dd3D7944Fa863463a97d') // WXDAI
    expect(wrappedNativeFor(42220)).toBe('0x471EcE3750Da237f93B8E339c536989b8978a438') // CELO
    expect(wrappedNativeFor(31337)).toBeUndefined()
  })

  it('values gas on Avalanche at AVAX, not at bridged ETH', () => {
    const wethE = reserve(0, { symbol: 'WETH.e', asset: addr(0xe7) })
    const wavax = reserve(1, { symbol: 'WAVAX', asset: '0xB31f66AA3C1e785363F0875A1B74E27b85FD66c7' })
    const m = market([wethE, wavax], [3_000_00000000n, 25_00000000n])
    // Unknown: 0, which the gas policy refuses to send on.
    expect(nativePrice(m, m.prices)).toBe(0n)
    m.nativeAsset = String(wrappedNativeFor(43114)).toLowerCase()
    expect(nativePrice(m, m.prices)).toBe(25_00000000n)
  })
})

describe('liquidationCall calldata', () => {
  it('the hand encoder equals viem’s ABI encoder', () => {
    const args = [
      '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
      '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
      '0x00000000000000000000000000000000DeaDBeef',
    ] as const
    for (const amount of [0n, 1n, 123_456_789n, 2n ** 256n - 1n]) {
      expect(liquidationCallData(args[0], args[1], args[2], amount)).toBe(
        encodeFunctionData({
          abi: poolAbi,
          functionName: 'liquidationCall',
          args: [args[0], args[1], args[2], amount, false],
        }),
      )
    }
  })
})

describe('pending Chainlink transmits', () => {
  const observations = [1_990_00000000n, 1_995_00000000n, 2_001_00000000n, 2_003_00000000n, 2_010_00000000n]

  it('OCR2 transmit(bytes32[3],bytes,bytes32[],bytes32[],bytes32): the median observation', () => {
    const abi = parseAbi([
      'function transmit(bytes32[3] reportContext, bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
    ])
    const report = encodeAbiParameters(
      [{ type: 'uint32' }, { type: 'bytes32' }, { type: 'int192[]' }, { type: 'int192' }],
      [1_700_000_000, `0x${'00010203'.padEnd(64, '0')}`, observations, 5_000_000_000_000_000n],
    )
    const word = `0x${'11'.repeat(32)}` as const
    const data = encodeFunctionData({
      abi,
      functionName: 'transmit',
      args: [[word, word, word], report, [word], [word], word],
    })
    // The selector mainnet OCR2 aggregators are called with.
    expect(data.slice(0, 10)).toBe('0xb1dc65a4')
    expect(decodeOracleAnswer(data)).toBe(2_001_00000000n)
    // transmitSecondary (Chainlink SVR's DualAggregator) carries the same report.
    const secondary = encodeFunctionData({
      abi: parseAbi([
        'function transmitSecondary(bytes32[3] reportContext, bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
      ]),
      functionName: 'transmitSecondary',
      args: [[word, word, word], report, [word], [word], word],
    })
    expect(decodeOracleAnswer(secondary)).toBe(2_001_00000000n)
  })

  it('OCR1 transmit(bytes,bytes32[],bytes32[],bytes32) and garbage', () => {
    const report = encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'int192[]' }],
      [`0x${'22'.repeat(32)}`, `0x${'00'.repeat(32)}`, observations.slice(0, 4)],
    )
    const data = encodeFunctionData({
      abi: parseAbi(['function transmit(bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)']),
      functionName: 'transmit',
      args: [report, [], [], `0x${'00'.repeat(32)}`],
    })
    expect(data.slice(0, 10)).toBe(toFunctionSelector('transmit(bytes,bytes32[],bytes32[],bytes32)'))
    // Four observations: the aggregator stores observations[2].
    expect(decodeOracleAnswer(data)).toBe(2_001_00000000n)
    expect(decodeOracleAnswer('0xdeadbeef')).toBeUndefined()
    // A well-formed call whose report is not a report.
    expect(
      decodeOracleAnswer(
        encodeFunctionData({
          abi: parseAbi([
            'function transmit(bytes32[3] c, bytes report, bytes32[] rs, bytes32[] ss, bytes32 v)',
          ]),
          functionName: 'transmit',
          args: [
            [`0x${'00'.repeat(32)}`, `0x${'00'.repeat(32)}`, `0x${'00'.repeat(32)}`],
            '0x1234',
            [],
            [],
            `0x${'00'.repeat(32)}`,
          ],
        }),
      ),
    ).toBeUndefined()
  })
})
