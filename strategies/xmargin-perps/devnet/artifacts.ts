/**
 * Compiles the clearinghouse (ours) and Pyth's MockPyth (from @pythnetwork/pyth-sdk-solidity) with
 * the `solc` npm package (src/solidity.ts), resolving imports from node_modules.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FatalError } from '../../../src/errors.js'
import { type CompiledContract, compileSolidity } from '../../../src/solidity.js'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))

export type PerpsContractName = 'Clearinghouse' | 'DevToken' | 'MockPyth'

function contractsDir(): string {
  // Beside the sources in a checkout; from dist/, the source tree the package ships.
  for (const dir of [
    join(here, '..', 'contracts'),
    join(here, '..', '..', '..', '..', 'strategies', 'xmargin-perps', 'contracts'),
  ])
    if (existsSync(join(dir, 'Clearinghouse.sol'))) return dir
  throw new FatalError('Clearinghouse.sol not found beside the xmargin-perps strategy')
}

function readImport(path: string): string {
  if (path.startsWith('clearinghouse/'))
    return readFileSync(join(contractsDir(), path.slice('clearinghouse/'.length)), 'utf8')
  if (path.startsWith('@pythnetwork/')) return readFileSync(require.resolve(path), 'utf8')
  throw new FatalError(`unexpected Solidity import ${path}`)
}

let compiled: Record<PerpsContractName, CompiledContract> | undefined

export function perpsContract(name: PerpsContractName): CompiledContract {
  compiled ??= compileSolidity({
    label: 'xmargin-perps',
    entries: ['clearinghouse/Clearinghouse.sol', '@pythnetwork/pyth-sdk-solidity/MockPyth.sol'],
    readSource: readImport,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'shanghai', viaIR: true },
    contracts: {
      Clearinghouse: ['clearinghouse/Clearinghouse.sol', 'Clearinghouse'],
      DevToken: ['clearinghouse/Clearinghouse.sol', 'DevToken'],
      MockPyth: ['@pythnetwork/pyth-sdk-solidity/MockPyth.sol', 'MockPyth'],
    },
  })
  return compiled[name]
}
