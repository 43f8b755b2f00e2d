/**
 * Reads Aave v3 contract artifacts (ABI + bytecode) from the `@aave/core-v3` npm package and links
 * library placeholders by writing each library's address at its `linkReferences` byte offsets.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Abi, Address, Hex } from 'viem'
import { FatalError } from '../../../src/errors.js'

export interface Artifact {
  contractName: string
  abi: Abi
  bytecode: Hex
  linkReferences: Record<string, Record<string, { start: number; length: number }[]>>
}

const require = createRequire(import.meta.url)
const artifactsRoot = join(dirname(require.resolve('@aave/core-v3/package.json')), 'artifacts', 'contracts')

/** Where each artifact we deploy lives inside the package. */
const ARTIFACT_PATHS = {
  PoolAddressesProvider: 'protocol/configuration/PoolAddressesProvider.sol',
  ACLManager: 'protocol/configuration/ACLManager.sol',
  Pool: 'protocol/pool/Pool.sol',
  PoolConfigurator: 'protocol/pool/PoolConfigurator.sol',
  DefaultReserveInterestRateStrategy: 'protocol/pool/DefaultReserveInterestRateStrategy.sol',
  AToken: 'protocol/tokenization/AToken.sol',
  VariableDebtToken: 'protocol/tokenization/VariableDebtToken.sol',
  StableDebtToken: 'protocol/tokenization/StableDebtToken.sol',
  AaveOracle: 'misc/AaveOracle.sol',
  AaveProtocolDataProvider: 'misc/AaveProtocolDataProvider.sol',
  MintableERC20: 'mocks/tokens/MintableERC20.sol',
  SupplyLogic: 'protocol/libraries/logic/SupplyLogic.sol',
  BorrowLogic: 'protocol/libraries/logic/BorrowLogic.sol',
  LiquidationLogic: 'protocol/libraries/logic/LiquidationLogic.sol',
  EModeLogic: 'protocol/libraries/logic/EModeLogic.sol',
  BridgeLogic: 'protocol/libraries/logic/BridgeLogic.sol',
  PoolLogic: 'protocol/libraries/logic/PoolLogic.sol',
  ConfiguratorLogic: 'protocol/libraries/logic/ConfiguratorLogic.sol',
  FlashLoanLogic: 'protocol/libraries/logic/FlashLoanLogic.sol',
} as const

export type AaveContractName = keyof typeof ARTIFACT_PATHS

const cache = new Map<string, Artifact>()

export function loadAaveArtifact(name: AaveContractName): Artifact {
  const hit = cache.get(name)
  if (hit) return hit
  const file = join(artifactsRoot, ARTIFACT_PATHS[name], `${name}.json`)
  let artifact: Artifact
  try {
    artifact = JSON.parse(readFileSync(file, 'utf8')) as Artifact
  } catch (error) {
    throw new FatalError(`cannot read Aave artifact ${name} from @aave/core-v3; run npm ci`, { cause: error })
  }
  cache.set(name, artifact)
  return artifact
}

/** Returns the bytecode with every library placeholder replaced by the deployed library address. */
export function linkBytecode(artifact: Artifact, libraries: Record<string, Address>): Hex {
  let code = artifact.bytecode.slice(2)
  for (const [, libs] of Object.entries(artifact.linkReferences)) {
    for (const [libName, refs] of Object.entries(libs)) {
      const address = libraries[libName]
      if (!address)
        throw new FatalError(`${artifact.contractName} needs library ${libName}, which was not deployed`)
      const hex = address.slice(2).toLowerCase()
      for (const ref of refs) {
        // Offsets are in bytes; the hex string has two characters per byte.
        code = code.slice(0, ref.start * 2) + hex + code.slice((ref.start + ref.length) * 2)
      }
    }
  }
  return `0x${code}`
}
