/** The gas policy and replacement bumps as tables of inputs and the bids they must give. */
import { describe, expect, it } from 'vitest'
import { bidGas, bumpGas, gasCostBase } from '../../../src/executor/gasPolicy.js'
import { REFUSAL_REASONS } from '../../../src/executor/refusal.js'
import { pendingTx } from '../../support/fakes.js'

const GWEI = 10n ** 9n
/** 1 ETH = 2,000 USD in 8-decimal base units. */
const ETH_BASE = 2_000n * 10n ** 8n
const base = {
  profitBase: 100n * 10n ** 8n,
  gasLimit: 500_000n,
  baseFeeWei: 10n * GWEI,
  nativePriceBase: ETH_BASE,
  shareBps: 3_000n,
  maxFeeCapWei: 300n * GWEI,
}

describe('bidGas', () => {
  const oracle = pendingTx(1, '0x00000000000000000000000000000000000000fe')
  const cases: [string, Parameters<typeof bidGas>[0], ReturnType<typeof bidGas>][] = [
    // 100 USD = 0.05 ETH; 30% of it over 500k gas = 30 gwei tip; fee cap 2 × base + tip.
    ['share of profit', base, { maxFeePerGas: 50n * GWEI, maxPriorityFeePerGas: 30n * GWEI }],
    [
      'fee cap binds',
      { ...base, maxFeeCapWei: 40n * GWEI },
      { maxFeePerGas: 40n * GWEI, maxPriorityFeePerGas: 30n * GWEI },
    ],
    [
      'tip never above the cap',
      { ...base, maxFeeCapWei: 20n * GWEI },
      { maxFeePerGas: 20n * GWEI, maxPriorityFeePerGas: 20n * GWEI },
    ],
    [
      'tiny profit: minimum tip',
      { ...base, profitBase: 1n },
      { maxFeePerGas: 20n * GWEI + 10n ** 6n, maxPriorityFeePerGas: 10n ** 6n },
    ],
    [
      'base fee above the cap',
      { ...base, baseFeeWei: 400n * GWEI },
      { refuse: 'base fee is above the fee cap' },
    ],
    ['no native price', { ...base, nativePriceBase: 0n }, { refuse: 'no native token price to value gas' }],
    [
      'backrun copies the oracle fees',
      { ...base, dependsOn: oracle },
      { maxFeePerGas: 5n * GWEI, maxPriorityFeePerGas: GWEI },
    ],
    [
      'backrun of a legacy oracle tx',
      {
        ...base,
        dependsOn: { ...oracle, maxFeePerGas: null, maxPriorityFeePerGas: null, gasPrice: 7n * GWEI },
      },
      { maxFeePerGas: 7n * GWEI, maxPriorityFeePerGas: 7n * GWEI },
    ],
    [
      'backrun of an oracle tx with no fee fields',
      { ...base, dependsOn: { ...oracle, maxFeePerGas: null, maxPriorityFeePerGas: null, gasPrice: null } },
      { refuse: 'oracle transaction has no fee fields' },
    ],
    [
      'backrun above the fee cap',
      { ...base, maxFeeCapWei: 4n * GWEI, dependsOn: oracle },
      { refuse: 'oracle transaction pays more than the fee cap' },
    ],
  ]
  for (const [name, input, expected] of cases) it(name, () => expect(bidGas(input)).toEqual(expected))

  it('every refusal it can give is a known metric label', () => {
    for (const [, input] of cases) {
      const bid = bidGas(input)
      if ('refuse' in bid) expect(REFUSAL_REASONS).toContain(bid.refuse)
    }
  })
})

describe('bumpGas', () => {
  const table: [bigint, bigint][] = [
    [GWEI, 1_125_000_001n],
    [8n, 10n],
    [0n, 1n],
    [1_000n, 1_126n],
  ]
  for (const [before, after] of table)
    it(`${before} → ${after} (≥ +12.5%, rounded up)`, () => {
      const bumped = bumpGas({ maxFeePerGas: before, maxPriorityFeePerGas: before })
      expect(bumped.maxFeePerGas).toBe(after)
      expect(bumped.maxPriorityFeePerGas * 1000n).toBeGreaterThanOrEqual(before * 1125n)
    })
})

describe('gasCostBase', () => {
  it('is gas × fee × price / 1e18', () => {
    // 500k gas at 10 gwei = 0.005 ETH = 10 USD.
    expect(gasCostBase(500_000n, 10n * GWEI, ETH_BASE)).toBe(10n * 10n ** 8n)
  })
})
