/**
 * npm run bench: every benchmark, printed as figures and ratios in one run; `-- --json FILE` also
 * writes the figures by name.
 */
import { writeFileSync } from 'node:fs'
import { benchBatch } from './batch.js'
import { figures } from './figures.js'
import { benchMirror } from './mirror.js'
import { benchPerps } from './perps.js'
import { benchReplay } from './replay.js'
import { benchRestart } from './restart.js'
import { benchScale } from './scale.js'
import { benchTickToTrade } from './tickToTrade.js'

const args = process.argv.slice(2)
const jsonAt = args.indexOf('--json')
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined
if (jsonAt >= 0 && !jsonFile) {
  console.error('--json: expected a file name')
  process.exit(2)
}

const lines: string[] = []
// Each benchmark starts from a collected heap: the one before it (1M accounts) leaves a gigabyte of
// garbage whose collection would otherwise land in the next one's timings, or compete on the
// machine's two cores with the process the restart bench spawns.
const collected = <T>(run: () => T): T => {
  global.gc?.()
  return run()
}
lines.push(...collected(benchMirror))
lines.push(...collected(benchPerps))
lines.push(...(await collected(benchScale)))
lines.push(...(await collected(benchTickToTrade)))
lines.push(...(await collected(benchBatch)))
lines.push(...(await collected(benchReplay)))
lines.push(...(await collected(benchRestart)))
console.log(lines.join('\n'))
if (jsonFile) {
  writeFileSync(jsonFile, `${JSON.stringify(figures, null, 2)}\n`)
  console.log(`figures written to ${jsonFile}`)
}
