/**
 * The restored accounts are checked by hand (checkPosition) instead of by zod, for a restart's
 * speed; the zod schema stays as the reference. Over valid positions and every kind of corruption
 * (wrong types, negative or fractional numbers, extra keys, bad stable-debt entries), both must give
 * the same verdict.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkPosition, positionSchema } from '../../strategies/aave-v3/stateSchema.js'

const anyScalar = fc.oneof(
  fc.bigInt({ min: -5n, max: 2n ** 80n }),
  fc.integer({ min: -3, max: 300 }),
  fc.double({ noDefaultInfinity: false }),
  fc.string({ maxLength: 3 }),
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
)
const uint = fc.bigInt({ min: 0n, max: 2n ** 128n })
const balances = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.option(uint, { nil: null }), { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.array(anyScalar, { maxLength: 4 }) },
  { weight: 1, arbitrary: anyScalar },
)
const stableDebt = fc.oneof(
  { weight: 4, arbitrary: fc.record({ principal: uint, rate: uint, timestamp: uint }) },
  {
    weight: 1,
    arbitrary: fc.record({ principal: anyScalar, rate: uint, timestamp: uint }, { requiredKeys: ['rate'] }),
  },
  { weight: 1, arbitrary: fc.record({ principal: uint, rate: uint, timestamp: uint, extra: anyScalar }) },
  { weight: 1, arbitrary: anyScalar },
)
const stable = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(fc.oneof(fc.nat(20), fc.double(), fc.string({ maxLength: 2 })), stableDebt), {
        maxLength: 3,
      })
      .map((entries) => new Map<unknown, unknown>(entries)),
  },
  { weight: 1, arbitrary: anyScalar },
)
const position = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        config: fc.oneof({ weight: 5, arbitrary: uint }, { weight: 1, arbitrary: anyScalar }),
        eMode: fc.oneof({ weight: 5, arbitrary: fc.nat(255) }, { weight: 1, arbitrary: anyScalar }),
        scaledCollateral: balances,
        scaledDebt: balances,
        stable,
      },
      { requiredKeys: ['config', 'eMode', 'scaledCollateral', 'scaledDebt'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      config: uint,
      eMode: fc.nat(255),
      scaledCollateral: balances,
      scaledDebt: balances,
      unexpected: anyScalar,
    }),
  },
  { weight: 1, arbitrary: fc.oneof(anyScalar, fc.array(uint, { maxLength: 2 })) },
)

describe('restored account positions', () => {
  it('are accepted by the hand check exactly when the zod schema accepts them', () => {
    let accepted = 0
    let rejected = 0
    fc.assert(
      fc.property(position, (p) => {
        const byHand = checkPosition(p) === undefined
        expect(byHand).toBe(positionSchema.safeParse(p).success)
        if (byHand) accepted++
        else rejected++
      }),
      { seed: 20_261_203, numRuns: 5_000 },
    )
    // Both verdicts occur often: the comparison is not over one kind of input.
    expect(accepted).toBeGreaterThan(500)
    expect(rejected).toBeGreaterThan(500)
  })
})
