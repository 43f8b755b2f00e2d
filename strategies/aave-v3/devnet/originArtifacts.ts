/**
 * Builds the current Aave (aave-v3-origin 3.6, as deployed on mainnet) from its npm Solidity sources
 * with the `solc` npm package: imports `openzeppelin-contracts/` resolve to `@openzeppelin/contracts/`,
 * `solidity-utils/` to `@bgd-labs/solidity-utils/src/`. The output (ABI, bytecode, link references)
 * is cached on disk keyed by the hash of every source and the compiler settings, so only the first
 * run compiles; third-party bytecode is never committed.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, normalize } from 'node:path'
import type { Abi, Hex } from 'viem'
import { cacheDir } from '../../../src/devnet/helperContracts.js'
import { FatalError } from '../../../src/errors.js'
import type { Artifact } from './aaveArtifacts.js'

const require = createRequire(import.meta.url)

/** The contracts a market needs, by source path inside `src/contracts`. */
export const ORIGIN_CONTRACTS = {
  PoolAddressesProvider: 'protocol/configuration/PoolAddressesProvider.sol',
  ACLManager: 'protocol/configuration/ACLManager.sol',
  PoolInstance: 'instances/PoolInstance.sol',
  PoolConfiguratorInstance: 'instances/PoolConfiguratorInstance.sol',
  ATokenInstance: 'instances/ATokenInstance.sol',
  VariableDebtTokenInstance: 'instances/VariableDebtTokenInstance.sol',
  AaveOracle: 'misc/AaveOracle.sol',
  DefaultReserveInterestRateStrategyV2: 'misc/DefaultReserveInterestRateStrategyV2.sol',
  AaveProtocolDataProvider: 'helpers/AaveProtocolDataProvider.sol',
} as const

/** Logic libraries the Pool and PoolConfigurator link against. */
export const ORIGIN_LIBRARIES = {
  SupplyLogic: 'protocol/libraries/logic/SupplyLogic.sol',
  BorrowLogic: 'protocol/libraries/logic/BorrowLogic.sol',
  LiquidationLogic: 'protocol/libraries/logic/LiquidationLogic.sol',
  PoolLogic: 'protocol/libraries/logic/PoolLogic.sol',
  FlashLoanLogic: 'protocol/libraries/logic/FlashLoanLogic.sol',
  ConfiguratorLogic: 'protocol/libraries/logic/ConfiguratorLogic.sol',
} as const

export type OriginContractName = keyof typeof ORIGIN_CONTRACTS | keyof typeof ORIGIN_LIBRARIES

/** Compiler settings as upstream builds the 3.6 release (foundry.toml: 0.8.27, optimizer 200, shanghai). */
export const ORIGIN_SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'shanghai' } as const

function packageRoot(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`))
  } catch (error) {
    throw new FatalError(`npm package ${name} is not installed; run npm ci`, { cause: error })
  }
}

interface Roots {
  origin: string
  openzeppelin: string
  solidityUtils: string
}

function roots(): Roots {
  return {
    origin: join(packageRoot('@aave-dao/aave-v3-origin'), 'src'),
    openzeppelin: packageRoot('@openzeppelin/contracts'),
    solidityUtils: join(packageRoot('@bgd-labs/solidity-utils'), 'src'),
  }
}

/** Maps a Solidity import path to a file on disk, with upstream's remappings. */
export function resolveImport(path: string, r: Roots = roots()): string {
  if (path.startsWith('openzeppelin-contracts/'))
    return join(r.openzeppelin, path.slice('openzeppelin-contracts/'.length).replace(/^contracts\//, ''))
  if (path.startsWith('solidity-utils/'))
    return join(r.solidityUtils, path.slice('solidity-utils/'.length).replace(/^contracts\//, 'contracts/'))
  if (path.startsWith('src/')) return join(r.origin, path.slice(4))
  return join(r.origin, normalize(path))
}

/** Every source reachable from the entry points, keyed by import path, read once. */
function collectSources(r: Roots): Record<string, { content: string }> {
  const sources: Record<string, { content: string }> = {}
  const queue: string[] = Object.values(ORIGIN_CONTRACTS).map((p) => `contracts/${p}`)
  while (queue.length > 0) {
    const path = queue.pop() as string
    if (sources[path]) continue
    const file = resolveImport(path, r)
    if (!existsSync(file)) throw new FatalError(`aave-v3-origin import not found: ${path}`)
    const content = readFileSync(file, 'utf8')
    sources[path] = { content }
    for (const match of content.matchAll(/import\s+(?:[^'"]*from\s+)?['"]([^'"]+)['"]/g)) {
      const target = match[1] as string
      const resolved = target.startsWith('.') ? normalize(join(dirname(path), target)) : target
      if (!sources[resolved]) queue.push(resolved)
    }
  }
  return sources
}

export interface OriginBuild {
  key: string
  compiled: boolean
  artifacts: Record<OriginContractName, Artifact>
}

export function buildOrigin(): OriginBuild {
  const r = roots()
  const sources = collectSources(r)
  const solcVersion = (require('solc/package.json') as { version: string }).version
  const hash = createHash('sha256')
  hash.update(JSON.stringify({ solcVersion, settings: ORIGIN_SETTINGS }))
  for (const path of Object.keys(sources).sort())
    hash
      .update(path)
      .update('\0')
      .update(sources[path]?.content ?? '')
  const key = hash.digest('hex').slice(0, 16)
  const file = join(cacheDir(), `aave-origin-${key}.json`)
  if (existsSync(file)) {
    try {
      return {
        key,
        compiled: false,
        artifacts: JSON.parse(readFileSync(file, 'utf8')) as Record<OriginContractName, Artifact>,
      }
    } catch {
      // A torn cache entry is rebuilt below.
    }
  }
  const solc = require('solc') as { compile(input: string): string }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      ...ORIGIN_SETTINGS,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.bytecode.linkReferences'] } },
    },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts: Record<
      string,
      Record<
        string,
        { abi: Abi; evm: { bytecode: { object: string; linkReferences: Artifact['linkReferences'] } } }
      >
    >
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0)
    throw new FatalError(`aave-v3-origin failed to compile: ${errors[0]?.formattedMessage.split('\n')[0]}`)
  const artifacts = {} as Record<OriginContractName, Artifact>
  for (const [name, path] of Object.entries({ ...ORIGIN_CONTRACTS, ...ORIGIN_LIBRARIES }) as [
    OriginContractName,
    string,
  ][]) {
    const contract = output.contracts[`contracts/${path}`]?.[name]
    if (!contract) throw new FatalError(`aave-v3-origin produced no ${name}`)
    artifacts[name] = {
      contractName: name,
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}` as Hex,
      linkReferences: contract.evm.bytecode.linkReferences,
    }
  }
  // Atomic: test workers may build concurrently and must never read half a file.
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(artifacts))
  renameSync(tmp, file)
  return { key, compiled: true, artifacts }
}
