/**
 * The L1 data fee of OP-stack chains (OP Mainnet, Base, …): every transaction pays, besides L2 gas,
 * for posting its bytes to L1, priced by the GasPriceOracle predeploy. Detected by the predeploy's
 * code; read exactly per transaction for the profit check, and sampled per head to rank.
 */
import { type Address, type Client, type Hex, parseAbi, serializeTransaction } from 'viem'
import { getCode, readContract } from 'viem/actions'

export const OP_GAS_PRICE_ORACLE: Address = '0x420000000000000000000000000000000000000F'
const abi = parseAbi(['function getL1Fee(bytes data) view returns (uint256)'])

/** 1,000 non-zero bytes: the ranking sample (a liquidation's signed transaction is a few hundred). */
const SAMPLE: Hex = `0x${'ab'.repeat(1000)}`

export interface L1FeeOracle {
  /** The exact L1 fee (wei) of a transaction with these fields, as the predeploy prices it now. */
  feeWei(tx: {
    chainId: number
    nonce: number
    to: Address
    data: Hex
    value: bigint
    gas: bigint
    maxFeePerGas: bigint
    maxPriorityFeePerGas: bigint
  }): Promise<bigint>
  /** Re-reads the per-byte price (once per head). */
  refresh(): Promise<void>
  /** A ranking estimate for a call with this calldata, from the last sample (0 before the first). */
  estimateWei(data: Hex): bigint
}

export async function detectL1FeeOracle(client: Client): Promise<L1FeeOracle | undefined> {
  const code = await getCode(client, { address: OP_GAS_PRICE_ORACLE })
  if (!code || code === '0x') return undefined
  const fee = (data: Hex) =>
    readContract(client, { address: OP_GAS_PRICE_ORACLE, abi, functionName: 'getL1Fee', args: [data] })
  let perKbWei = 0n
  const oracle: L1FeeOracle = {
    feeWei: (tx) => fee(serializeTransaction({ type: 'eip1559', ...tx })),
    async refresh() {
      perKbWei = await fee(SAMPLE)
    },
    // Calldata is hex (2 chars a byte); ~110 bytes of envelope (nonce, fees, gas, to, value, chain id).
    estimateWei: (data) => (perKbWei * BigInt((data.length - 2) / 2 + 110)) / 1000n,
  }
  await oracle.refresh()
  return oracle
}
