/**
 * The opportunity queue: a binary max-heap by expected net profit, one live entry per key (an account, or an account and a position).
 * Re-ranking a key pushes a new version; older versions are skipped when popped (lazy deletion).
 */
import type { Opportunity } from '../types.js'

interface Entry {
  opportunity: Opportunity
  version: number
}

export interface OpportunityQueue {
  /** Inserts or re-ranks the key's entry. Predicted (pending-oracle) entries win over block ones. */
  upsert(opportunity: Opportunity): void
  /** Drops every entry that did not come from a pending transaction still unresolved. */
  clearBlockEntries(keepPredictedFromBlock: bigint): void
  pop(): Opportunity | undefined
  readonly size: number
}

const better = (a: Entry, b: Entry) => a.opportunity.netProfitBase > b.opportunity.netProfitBase

export function createOpportunityQueue(): OpportunityQueue {
  const heap: Entry[] = []
  const live = new Map<string, Entry>()
  let version = 0

  const swap = (i: number, j: number) => {
    const t = heap[i] as Entry
    heap[i] = heap[j] as Entry
    heap[j] = t
  }
  const up = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!better(heap[i] as Entry, heap[parent] as Entry)) return
      swap(i, parent)
      i = parent
    }
  }
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let top = i
      if (l < heap.length && better(heap[l] as Entry, heap[top] as Entry)) top = l
      if (r < heap.length && better(heap[r] as Entry, heap[top] as Entry)) top = r
      if (top === i) return
      swap(i, top)
      i = top
    }
  }
  const push = (entry: Entry) => {
    heap.push(entry)
    up(heap.length - 1)
  }

  return {
    upsert(opportunity) {
      const key = opportunity.key
      const current = live.get(key)
      if (current?.opportunity.dependsOn && !opportunity.dependsOn) return
      const entry = { opportunity, version: ++version }
      live.set(key, entry)
      push(entry)
    },
    clearBlockEntries(keepPredictedFromBlock) {
      for (const [key, entry] of live) {
        const o = entry.opportunity
        if (!o.dependsOn || o.blockNumber < keepPredictedFromBlock) live.delete(key)
      }
      // Rebuild from the live entries so stale versions never accumulate.
      heap.length = 0
      for (const entry of live.values()) push(entry)
    },
    pop() {
      while (heap.length > 0) {
        const top = heap[0] as Entry
        const last = heap.pop() as Entry
        if (heap.length > 0) {
          heap[0] = last
          down(0)
        }
        const key = top.opportunity.key
        if (live.get(key) === top) {
          live.delete(key)
          return top.opportunity
        }
      }
      return undefined
    },
    get size() {
      return live.size
    },
  }
}
