/** npm run bench: every benchmark, printed as figures and ratios in one run. */
import { benchMirror } from './mirror.js'
import { benchPerps } from './perps.js'
import { benchReplay } from './replay.js'
import { benchTickToTrade } from './tickToTrade.js'

const lines: string[] = []
lines.push(...benchMirror())
lines.push(...benchPerps())
lines.push(...(await benchTickToTrade()))
lines.push(...(await benchReplay()))
console.log(lines.join('\n'))
