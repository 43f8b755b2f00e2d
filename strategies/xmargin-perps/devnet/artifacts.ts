/**
 * Compiles the clearinghouse (ours) and Pyth's MockPyth (from @pythnetwork/pyth-sdk-solidity) with
 * the `solc` npm package, resolving imports from node_modules. Cached on disk by the hash of every
 * source and the compiler settings, so only the first run pays for the compiler.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Abi, Hex } from 'viem'
import { type CompiledContract, cacheDir } from '../../../src/devnet/helperContracts.js'
import { FatalError } from '../../../src/errors.js'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))

export type PerpsContractName = 'Clearinghouse' | 'DevToken' | 'MockPyth'

const ENTRY = `import "clearinghouse/Clearinghouse.sol";\nimport "@pythnetwork/pyth-sdk-solidity/MockPyth.sol";\n`

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
  compiled ??= compile()
  return compiled[name]
}

function compile(): Record<PerpsContractName, CompiledContract> {
  const sources: Record<string, string> = { 'entry.sol': ENTRY }
  const pending = ['clearinghouse/Clearinghouse.sol', '@pythnetwork/pyth-sdk-solidity/MockPyth.sol']
  // Gather the import closure first, so the cache key covers every source.
  while (pending.length > 0) {
    const path = pending.pop() as string
    if (sources[path] !== undefined) continue
    const text = readImport(path)
    sources[path] = text
    for (const m of text.matchAll(/import\s+(?:\{[^}]*\}\s+from\s+)?"([^"]+)"/g)) {
      const spec = m[1] as string
      pending.push(spec.startsWith('.') ? join(dirname(path), spec) : spec)
    }
  }
  const solcVersion = (require('solc/package.json') as { version: string }).version
  const settings = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'shanghai', viaIR: true }
  const key = createHash('sha256')
    .update(JSON.stringify({ sources, solcVersion, settings }))
    .digest('hex')
    .slice(0, 16)
  const file = join(cacheDir(), `xmargin-perps-${key}.json`)
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<PerpsContractName, CompiledContract>
    } catch {
      // A torn cache entry is rebuilt and overwritten below.
    }
  }
  const solc = require('solc') as { compile(input: string): string }
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([k, content]) => [k, { content }])),
    settings: { ...settings, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0)
    throw new FatalError(`Clearinghouse.sol failed to compile: ${errors[0]?.formattedMessage}`)
  const pick = (source: string, name: string): CompiledContract => {
    const c = output.contracts[source]?.[name]
    if (!c) throw new FatalError(`solc produced no ${name}`)
    return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` as Hex }
  }
  const result: Record<PerpsContractName, CompiledContract> = {
    Clearinghouse: pick('clearinghouse/Clearinghouse.sol', 'Clearinghouse'),
    DevToken: pick('clearinghouse/Clearinghouse.sol', 'DevToken'),
    MockPyth: pick('@pythnetwork/pyth-sdk-solidity/MockPyth.sol', 'MockPyth'),
  }
  writeFileSync(file, JSON.stringify(result))
  return result
}
