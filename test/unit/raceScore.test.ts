/**
 * The race's verdicts on a losing attempt, on hand-built receipts: ahead of the oracle update in
 * its block, behind a liquidation of the same account, with nothing to liquidate, never included.
 */
import { describe, expect, it } from 'vitest'
import { classifyAttempts, type LandedLiquidation } from '../../bench/race/score.js'

const A = '0x00000000000000000000000000000000000000a1'
const B = '0x00000000000000000000000000000000000000b2'
const WINNER = '0x00000000000000000000000000000000000000ee'

describe('race scoring', () => {
  it('tells a beaten attempt from one with nothing to liquidate and one never included; a win is no loss', () => {
    const liquidations: LandedLiquidation[] = [
      { user: A, liquidator: WINNER, blockNumber: 10n, transactionIndex: 1 },
      { user: B, liquidator: WINNER, blockNumber: 10n, transactionIndex: 3 },
    ]
    const losses = classifyAttempts(
      [
        // Behind A's liquidation in the same block.
        { account: A, receipt: { status: 'reverted', blockNumber: 10n, transactionIndex: 2 } },
        // The next block, on B (liquidated at index 3 of block 10).
        { account: B, receipt: { status: 'reverted', blockNumber: 11n, transactionIndex: 0 } },
        // An account nobody liquidated.
        {
          account: '0x00000000000000000000000000000000000000c3',
          receipt: { status: 'reverted', blockNumber: 11n, transactionIndex: 1 },
        },
        { account: B, receipt: undefined },
        // The winner's own attempt: not a loss.
        { account: B, receipt: { status: 'success', blockNumber: 10n, transactionIndex: 3 } },
      ],
      liquidations,
      [{ blockNumber: 10n, transactionIndex: 0 }],
    )
    expect(Object.fromEntries(losses)).toEqual({
      'already liquidated': 2,
      'not liquidatable': 1,
      'not included': 1,
    })
  })

  it('an attempt ahead of the update in its block ran at the old price', () => {
    const losses = classifyAttempts(
      [{ account: A, receipt: { status: 'reverted', blockNumber: 5n, transactionIndex: 0 } }],
      [{ user: A, liquidator: WINNER, blockNumber: 5n, transactionIndex: 2 }],
      [{ blockNumber: 5n, transactionIndex: 1 }],
    )
    expect(Object.fromEntries(losses)).toEqual({ 'before the oracle update': 1 })
  })
})
