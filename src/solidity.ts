/**
 * Compiles our own Solidity with the `solc` npm package, cached on disk by the hash of every source
 * in the import closure and of the compiler settings, so only the first run pays for the compiler.
 * Third-party bytecode is never committed: what a contract imports is read from node_modules.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Abi, Hex } from 'viem'
import { FatalError } from './errors.js'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))

export interface CompiledContract {
  abi: Abi
  bytecode: Hex
}

/** The project's .cache (beside src/ or dist/src/), or a temporary one where that is not writable. */
export function cacheDir(): string {
  const projectCache = join(here, '..', '.cache')
  try {
    mkdirSync(projectCache, { recursive: true })
    return projectCache
  } catch {
    const fallback = join(tmpdir(), 'undertow-cache')
    mkdirSync(fallback, { recursive: true })
    return fallback
  }
}

export interface SolidityBuild<N extends string> {
  /** Names the cache file and the errors: "xmargin-perps", "flash-liquidator". */
  label: string
  /** Import paths to start from; the closure is gathered with `readSource`. */
  entries: readonly string[]
  /** The text of one import path (throws for a path it does not know). */
  readSource(path: string): string
  settings: Record<string, unknown>
  /** Output name → [source path, contract name]. */
  contracts: Readonly<Record<N, readonly [string, string]>>
}

/** Every source reachable from the entries, keyed by import path (relative imports resolved). */
function importClosure(
  entries: readonly string[],
  readSource: (path: string) => string,
): Record<string, string> {
  const sources: Record<string, string> = {}
  const pending = [...entries]
  while (pending.length > 0) {
    const path = pending.pop() as string
    if (sources[path] !== undefined) continue
    const text = readSource(path)
    sources[path] = text
    for (const m of text.matchAll(/import\s+(?:[^'"]*from\s+)?['"]([^'"]+)['"]/g)) {
      const spec = m[1] as string
      pending.push(spec.startsWith('.') ? join(dirname(path), spec) : spec)
    }
  }
  return sources
}

export function compileSolidity<N extends string>(build: SolidityBuild<N>): Record<N, CompiledContract> {
  const sources = importClosure(build.entries, build.readSource)
  const solcVersion = (require('solc/package.json') as { version: string }).version
  const key = createHash('sha256')
    .update(JSON.stringify({ sources, solcVersion, settings: build.settings, contracts: build.contracts }))
    .digest('hex')
    .slice(0, 16)
  const file = join(cacheDir(), `${build.label}-${key}.json`)
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<N, CompiledContract>
    } catch {
      // A torn cache entry is rebuilt and overwritten below.
    }
  }
  const solc = require('solc') as { compile(input: string): string }
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([k, content]) => [k, { content }])),
    settings: { ...build.settings, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0)
    throw new FatalError(`${build.label} failed to compile: ${errors[0]?.formattedMessage}`)
  const result = {} as Record<N, CompiledContract>
  for (const [name, [source, contract]] of Object.entries(build.contracts) as [
    N,
    readonly [string, string],
  ][]) {
    const c = output.contracts[source]?.[contract]
    if (!c) throw new FatalError(`${build.label}: solc produced no ${contract}`)
    result[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` as Hex }
  }
  writeFileSync(file, JSON.stringify(result))
  return result
}
