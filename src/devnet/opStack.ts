/**
 * An OP-stack devnet: anvil has no L2 predeploys, so the GasPriceOracle's public interface (ours,
 * solc, Ecotone formula) is placed at its predeploy address. Parameters are immutables of a normally
 * deployed instance whose runtime code is copied there, so the predeploy answers exactly like it.
 */
import { type Address, type PublicClient, parseUnits } from 'viem'
import { devActions } from '../chain/devActions.js'
import { OP_GAS_PRICE_ORACLE } from '../chain/l1Fee.js'
import { deployContract } from '../chain/rpc.js'
import { FatalError } from '../errors.js'
import { helperContract } from './helperContracts.js'

export interface L1FeeParams {
  /** L1 base fee in gwei (default 20). */
  l1BaseFeeGwei?: string
  /** Blob base fee in gwei (default 1). */
  blobBaseFeeGwei?: string
  /** Ecotone scalars (6 decimals): OP Mainnet runs 5227 and 1014213. */
  baseFeeScalar?: number
  blobBaseFeeScalar?: number
}

export async function installGasPriceOracle(
  client: PublicClient,
  deployer: Address,
  params: L1FeeParams = {},
): Promise<void> {
  const contract = helperContract('DevGasPriceOracle')
  const instance = await deployContract(
    client,
    deployer,
    contract.abi,
    contract.bytecode,
    [
      parseUnits(params.l1BaseFeeGwei ?? '20', 9),
      parseUnits(params.blobBaseFeeGwei ?? '1', 9),
      params.baseFeeScalar ?? 5227,
      params.blobBaseFeeScalar ?? 1_014_213,
    ],
    'GasPriceOracle',
  )
  const code = await client.getCode({ address: instance })
  if (!code) throw new FatalError('the GasPriceOracle stand-in has no runtime code')
  await devActions(client).setCode({ address: OP_GAS_PRICE_ORACLE, bytecode: code })
}
