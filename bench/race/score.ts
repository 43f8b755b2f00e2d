/**
 * Why a competitor's attempt did not win, from its receipt and the chain's liquidations: pure, so
 * the race's verdicts are unit-tested (test/unit/raceScore.test.ts).
 */
import type { Address } from 'viem'

export interface LandedLiquidation {
  user: Address
  liquidator: Address
  blockNumber: bigint
  transactionIndex: number
}

export interface Position {
  blockNumber: bigint
  transactionIndex: number
}

export interface SettledAttempt {
  account: Address
  /** Undefined: never included (a bundle the builder left out, a transaction never mined). */
  receipt: (Position & { status: 'success' | 'reverted' }) | undefined
}

export type Loss =
  | 'before the oracle update'
  | 'already liquidated'
  | 'not liquidatable'
  | 'not included'
  | 'landed without a liquidation'

const before = (a: Position, b: Position) =>
  a.blockNumber < b.blockNumber ||
  (a.blockNumber === b.blockNumber && a.transactionIndex < b.transactionIndex)

/**
 * Counts the losing attempts by reason. A reverted attempt in the block of an oracle update and
 * ordered ahead of it ran at the old price; one behind a liquidation of its account was beaten to
 * it; any other revert found nothing to liquidate. Winning attempts are not counted.
 */
export function classifyAttempts(
  attempts: readonly SettledAttempt[],
  liquidations: readonly LandedLiquidation[],
  oracleUpdates: readonly Position[],
): Map<Loss, number> {
  const out = new Map<Loss, number>()
  const add = (loss: Loss) => out.set(loss, (out.get(loss) ?? 0) + 1)
  for (const a of attempts) {
    const r = a.receipt
    if (!r) {
      add('not included')
      continue
    }
    if (r.status === 'success') {
      const won = liquidations.some(
        (l) =>
          l.user.toLowerCase() === a.account.toLowerCase() &&
          l.blockNumber === r.blockNumber &&
          l.transactionIndex === r.transactionIndex,
      )
      if (!won) add('landed without a liquidation')
      continue
    }
    const update = oracleUpdates.find((u) => u.blockNumber === r.blockNumber)
    if (update && before(r, update)) add('before the oracle update')
    else if (liquidations.some((l) => l.user.toLowerCase() === a.account.toLowerCase() && before(l, r)))
      add('already liquidated')
    else add('not liquidatable')
  }
  return out
}
