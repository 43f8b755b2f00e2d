/**
 * The snapshot text: bigints (any sign and size), Maps, Sets and strings round-trip exactly, a
 * string that starts with the bigint tag stays a string, and a format-1 file (bigints as
 * {"$b": "…"} objects) still reads back the same values.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeState, encodeState } from '../../src/store/snapshotStore.js'

const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
    fc.string({ unit: 'binary' }),
    fc.constantFrom('\u0001', '\u0001\u0001', '\u00011', '\u0001-5', '$b', '#1'),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(
      fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'),
      tie('node'),
      {
        maxKeys: 4,
      },
    ),
    fc
      .array(fc.tuple(fc.string({ unit: 'binary', maxLength: 4 }), tie('node')), { maxLength: 3 })
      .map((entries) => new Map(entries)),
  ),
})).node

describe('snapshot encoding', () => {
  it('round-trips bigints, Maps, strings (tag-like ones too) exactly', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(decodeState(encodeState(v))).toEqual(v)
      }),
      { seed: 42, numRuns: 2_000 },
    )
  })

  it('writes a bigint as a tagged string, not an object', () => {
    expect(encodeState({ a: 12n, s: '\u00017' })).toBe('{"a":"\\u000112","s":"\\u0001\\u00017"}')
  })

  it('still reads format 1 (bigints as {"$b": …})', () => {
    const old = '{"meta":{"format":1},"m":{"$m":[["0xab",{"config":{"$b":"-2218"},"xs":[{"$b":"5"},null]}]]}}'
    expect(decodeState(old)).toEqual({
      meta: { format: 1 },
      m: new Map([['0xab', { config: -2218n, xs: [5n, null] }]]),
    })
  })
})
