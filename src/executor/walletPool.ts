/**
 * Several hot wallets, each an executor of its own (its nonce lane, its tracker, its approvals),
 * behind the one Executor interface the engine knows. Why: the transactions of one sender land
 * strictly in nonce order, so a burst from one wallet is one chain in which a single underpriced,
 * dropped or replaced transaction holds back every later one, and public nodes keep only so many
 * pending transactions per sender (geth: 16 executable by default). Spread over wallets, a burst
 * is several short chains.
 *
 * A key is worked by one wallet at a time: the pool skips a key any wallet holds (claimed or in
 * flight), and a wallet claims a key synchronously when it is handed one, so no two wallets can
 * both take it. An opportunity goes to the least loaded wallet, except one that offers routes
 * (a flash liquidation through the strategy's contract): those go to the primary wallet, the one
 * the strategy planned its routes for (the contract's owner).
 */
import type { Address, Hex } from 'viem'
import type { ExecuteOutcome, ExecutionRecord, Executor } from './executor.js'

export function createWalletPool(wallets: readonly Executor[]): Executor {
  const [primary] = wallets
  if (!primary) throw new Error('a wallet pool needs at least one wallet')
  if (wallets.length === 1) return primary
  /** Executions handed to each wallet and not yet finished (simulating, signing, sending). */
  const working = wallets.map(() => 0)
  const load = (i: number) => (working[i] as number) + (wallets[i] as Executor).inFlightCount()
  const pick = (hasRoutes: boolean): number => {
    if (hasRoutes) return 0
    let best = 0
    for (let i = 1; i < wallets.length; i++) if (load(i) < load(best)) best = i
    return best
  }

  let merged: ExecutionRecord[] = []
  /** Each wallet's newest record at the last merge: a wallet's list changes only by appending. */
  let newest: (ExecutionRecord | undefined)[] = []
  return {
    get records(): ExecutionRecord[] {
      // Merge again only when a wallet recorded something since the last read (its newest record
      // changed; a full list also drops its oldest, so its length alone would not tell).
      if (wallets.some((w, i) => w.records.at(-1) !== newest[i])) {
        merged = wallets.flatMap((w) => w.records).sort((a, b) => a.includedAt - b.includedAt)
        newest = wallets.map((w) => w.records.at(-1))
      }
      return merged
    },
    get tickToTrade(): { oracleTx: Hex; ms: number }[] {
      return wallets.flatMap((w) => w.tickToTrade)
    },
    get address(): Address | undefined {
      return primary.address
    },
    isBusy: (key) => wallets.some((w) => w.isBusy(key)),
    inFlightCount: () => wallets.reduce((n, w) => n + w.inFlightCount(), 0),
    inFlightBackruns: () => wallets.flatMap((w) => w.inFlightBackruns()),

    async cancel(key, reason) {
      for (const wallet of wallets) if (wallet.isBusy(key)) return wallet.cancel(key, reason)
      return false
    },

    repriceBackruns(predicted, timestamp, reason) {
      for (const wallet of wallets) wallet.repriceBackruns(predicted, timestamp, reason)
    },

    async prepare() {
      // Each wallet's approvals are its own transactions on its own nonces: all at once.
      await Promise.all(wallets.map((w) => w.prepare()))
    },

    async execute(opportunity, head, isCurrent): Promise<ExecuteOutcome> {
      if (wallets.some((w) => w.isBusy(opportunity.key))) return 'skipped'
      const i = pick((opportunity.routes?.length ?? 0) > 0)
      working[i] = (working[i] as number) + 1
      try {
        return await (wallets[i] as Executor).execute(opportunity, head, isCurrent)
      } finally {
        working[i] = (working[i] as number) - 1
      }
    },

    async onBlock(header) {
      await Promise.all(wallets.map((w) => w.onBlock(header)))
    },
  }
}
