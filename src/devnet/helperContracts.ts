/**
 * Our own small Solidity helpers (helpers.sol), compiled with the `solc` npm package through
 * compileSolidity (cached on disk by source and settings).
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FatalError } from '../errors.js'
import { type CompiledContract, cacheDir, compileSolidity } from '../solidity.js'

export type { CompiledContract }
export { cacheDir }

export const HELPER_NAMES = [
  'SettableAggregator',
  'BatchReader',
  'RevisionProbe',
  'SettableRate',
  'RatioCapAdapter',
  'StableCapAdapter',
  'DevGasPriceOracle',
] as const
export type HelperName = (typeof HELPER_NAMES)[number]

const here = dirname(fileURLToPath(import.meta.url))

function helperSource(): string {
  // In dist/ the .sol file is not copied by tsc; read it from the source tree beside the package.
  for (const candidate of [
    join(here, 'helpers.sol'),
    join(here, '..', '..', '..', 'src', 'devnet', 'helpers.sol'),
  ]) {
    try {
      return readFileSync(candidate, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  throw new FatalError('helpers.sol not found next to the devnet module')
}

let compiled: Record<HelperName, CompiledContract> | undefined

export function helperContract(name: HelperName): CompiledContract {
  compiled ??= compileHelpers()
  return compiled[name]
}

function compileHelpers(): Record<HelperName, CompiledContract> {
  return compileSolidity({
    label: 'helpers',
    entries: ['helpers.sol'],
    readSource: (path) => {
      if (path !== 'helpers.sol') throw new FatalError(`helpers.sol imports ${path}, which is not ours`)
      return helperSource()
    },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'shanghai' },
    contracts: Object.fromEntries(HELPER_NAMES.map((n) => [n, ['helpers.sol', n] as const])) as Record<
      HelperName,
      readonly [string, string]
    >,
  })
}
