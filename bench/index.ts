/** npm run bench: every benchmark, printed as figures and ratios in one run. */
import { benchMirror } from './mirror.js'

const lines: string[] = []
lines.push(...benchMirror())
console.log(lines.join('\n'))
