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
lines.push(...benchMirror())
lines.push(...benchPerps())
lines.push(...(await benchScale()))
lines.push(...(await benchTickToTrade()))
lines.push(...(await benchBatch()))
lines.push(...(await benchReplay()))
lines.push(...(await benchRestart()))
console.log(lines.join('\n'))
if (jsonFile) {
  writeFileSync(jsonFile, `${JSON.stringify(figures, null, 2)}\n`)
  console.log(`figures written to ${jsonFile}`)
}
