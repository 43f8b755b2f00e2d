/** Figures by name, for `npm run bench -- --json FILE` (each benchmark records what it measured). */
export const figures: Record<string, number> = {}

export function record(name: string, value: number): number {
  figures[name] = Math.round(value * 1000) / 1000
  return value
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}
