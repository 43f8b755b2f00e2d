/**
 * Compiles our own small Solidity helpers (helpers.sol) with the `solc` npm package. The output is
 * cached on disk, keyed by the hash of the source and compiler settings, so only the first run pays
 * for the compiler.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Abi, Hex } from 'viem'
import { FatalError } from '../errors.js'

export interface CompiledContract {
  abi: Abi
  bytecode: Hex
}

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

const require = createRequire(import.meta.url)
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

export function cacheDir(): string {
  const projectCache = join(here, '..', '..', '.cache')
  try {
    mkdirSync(projectCache, { recursive: true })
    return projectCache
  } catch {
    const fallback = join(tmpdir(), 'undertow-cache')
    mkdirSync(fallback, { recursive: true })
    return fallback
  }
}

let compiled: Record<HelperName, CompiledContract> | undefined

export function helperContract(name: HelperName): CompiledContract {
  compiled ??= compileHelpers()
  return compiled[name]
}

function compileHelpers(): Record<HelperName, CompiledContract> {
  const source = helperSource()
  const solcVersion = (require('solc/package.json') as { version: string }).version
  const settings = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'shanghai' }
  const key = createHash('sha256')
    .update(JSON.stringify({ source, solcVersion, settings }))
    .digest('hex')
    .slice(0, 16)
  const file = join(cacheDir(), `helpers-${key}.json`)
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<HelperName, CompiledContract>
    } catch {
      // A torn or corrupt cache entry is simply rebuilt and overwritten below.
    }
  }
  const solc = require('solc') as { compile(input: string): string }
  const input = {
    language: 'Solidity',
    sources: { 'helpers.sol': { content: source } },
    settings: { ...settings, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new FatalError(`helpers.sol failed to compile: ${errors[0]?.formattedMessage}`)
  const result = {} as Record<HelperName, CompiledContract>
  for (const name of HELPER_NAMES) {
    const contract = output.contracts['helpers.sol']?.[name]
    if (!contract) throw new FatalError(`helpers.sol produced no ${name}`)
    result[name] = { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` }
  }
  writeFileSync(file, JSON.stringify(result))
  return result
}
