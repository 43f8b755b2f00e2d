/** Human-facing figures: decimal.js turns protocol integers into readable strings, only here at the edge. */
import { Decimal } from 'decimal.js'

export const MAX_UINT256 = 2n ** 256n - 1n

export function formatUnitsFixed(value: bigint, decimals: number, places = 2): string {
  return new Decimal(value.toString()).div(new Decimal(10).pow(decimals)).toFixed(places, Decimal.ROUND_DOWN)
}

export function formatHealthFactor(healthFactorWad: bigint): string {
  if (healthFactorWad === MAX_UINT256) return '∞'
  return formatUnitsFixed(healthFactorWad, 18, 4)
}

export function renderTable(headers: string[], rows: string[][], alignRight: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ')
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}
