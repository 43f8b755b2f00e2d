/** A bounded set of recently seen keys (head hashes, transaction hashes): the oldest fall out first. */
export function createRecentSet(capacity: number) {
  const keys = new Set<string>()
  return {
    /** True the first time a key is seen (it is then remembered), false for a repeat. */
    add(key: string): boolean {
      if (keys.has(key)) return false
      keys.add(key)
      if (keys.size > capacity) keys.delete(keys.values().next().value as string)
      return true
    },
  }
}
