/** npm run bench: every benchmark, printed as figures and ratios in one run. */
import { benchMirror } from './mirror.js'
import { benchTickToTrade } from './tickToTrade.js'

const lines: string[] = []
lines.push(...benchMirror())
lines.push(...(await benchTickToTrade()))
console.log(lines.join('\n'))
