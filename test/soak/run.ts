/** `npm run soak -- --minutes N [--seed S]`: the soak, longer, with progress lines. */
import { formatSoak, runSoak } from '../support/soak.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(args[i + 1])
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name}: expected a positive number, got "${args[i + 1] ?? ''}"`)
    process.exit(2)
  }
  return value
}
const figures = await runSoak({ minutes: option('minutes', 10), seed: option('seed', 7), log: console.log })
console.log(formatSoak(figures))
const ok =
  figures.openAfter === 0 &&
  figures.duplicates === 0 &&
  figures.reverted <= Math.max(1, Math.floor(figures.liquidations / 4)) &&
  figures.mismatches === 0 &&
  figures.balanceMismatches === 0 &&
  figures.headLag === 0n
process.exit(ok ? 0 : 1)
