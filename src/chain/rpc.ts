/**
 * Thin transaction helpers for a node that holds (or impersonates) the sender: the devnet's admin,
 * seeded borrowers and scenario actors. Sends with eth_sendTransaction and waits for the receipt by
 * polling, which returns at once under automine and follows interval mining too.
 */
import {
  type Abi,
  type Address,
  BaseError,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  ContractFunctionRevertedError,
  createPublicClient,
  defineChain,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  type Hash,
  type Hex,
  http,
  type PublicClient,
  type TransactionReceipt,
} from 'viem'
import { UndertowError } from '../errors.js'

export function devChain(chainId: number, rpcUrl: string, wsUrl?: string): Chain {
  return defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl], ...(wsUrl ? { webSocket: [wsUrl] } : {}) } },
  })
}

export function httpClient(rpcUrl: string, chainId: number, onRequest?: () => void): PublicClient {
  return createPublicClient({
    chain: devChain(chainId, rpcUrl),
    // viem retries 429/5xx/rate-limit codes and honours Retry-After; hosted nodes rate-limit in
    // bursts, so allow a few more than its default (100 ms doubling: ~6 s in all).
    transport: http(rpcUrl, {
      retryCount: 6,
      retryDelay: 100,
      ...(onRequest ? { onFetchRequest: () => void onRequest() } : {}),
    }),
    cacheTime: 0,
  })
}

export class TransactionRevertedError extends UndertowError {
  override readonly name = 'TransactionRevertedError'
  constructor(
    readonly label: string,
    readonly receipt: TransactionReceipt,
    readonly reason: string,
  ) {
    super(`transaction ${label} reverted in block ${receipt.blockNumber}: ${reason}`)
  }
}

export async function waitForReceipt(
  client: PublicClient,
  hash: Hash,
  timeoutMs = 60_000,
): Promise<TransactionReceipt> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const receipt = await client.getTransactionReceipt({ hash }).catch((error: unknown) => {
      if (error instanceof Error && error.name === 'TransactionReceiptNotFoundError') return undefined
      throw error
    })
    if (receipt) return receipt
    if (Date.now() > deadline) throw new UndertowError(`no receipt for a transaction after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export interface SendParams {
  from: Address
  to?: Address
  data: Hex
  value?: bigint
  gas?: bigint
  maxFeePerGas?: bigint
  maxPriorityFeePerGas?: bigint
}

/** Sends from an unlocked or impersonated account; returns the hash without waiting. */
export async function sendUnlocked(client: PublicClient, params: SendParams): Promise<Hash> {
  const tx: Record<string, string> = { from: params.from, data: params.data }
  if (params.to) tx.to = params.to
  if (params.value !== undefined) tx.value = `0x${params.value.toString(16)}`
  if (params.gas !== undefined) tx.gas = `0x${params.gas.toString(16)}`
  if (params.maxFeePerGas !== undefined) tx.maxFeePerGas = `0x${params.maxFeePerGas.toString(16)}`
  if (params.maxPriorityFeePerGas !== undefined)
    tx.maxPriorityFeePerGas = `0x${params.maxPriorityFeePerGas.toString(16)}`
  // eth_sendTransaction from an unlocked account is a devnet method viem's public schema omits.
  return (await client.request({ method: 'eth_sendTransaction', params: [tx] } as never)) as Hash
}

export async function sendAndConfirm(
  client: PublicClient,
  params: SendParams,
  label: string,
): Promise<TransactionReceipt> {
  const hash = await sendUnlocked(client, params)
  const receipt = await waitForReceipt(client, hash)
  if (receipt.status !== 'success')
    throw new TransactionRevertedError(label, receipt, await revertReason(client, params, receipt))
  return receipt
}

/**
 * A fixed limit instead of the node's estimate: estimates are made against the latest block, and a
 * transaction mined after interest accrues (or after another sender's transaction) can need more.
 */
export const DEFAULT_CALL_GAS = 1_500_000n

/** Replays a reverted transaction as a call on the state before its block to recover the reason. */
async function revertReason(
  client: PublicClient,
  params: SendParams,
  receipt: TransactionReceipt,
): Promise<string> {
  try {
    await client.call({
      account: params.from,
      data: params.data,
      ...(params.to ? { to: params.to } : {}),
      ...(params.gas !== undefined ? { gas: params.gas } : {}),
      blockNumber: receipt.blockNumber - 1n,
    })
    return receipt.gasUsed === params.gas
      ? 'out of gas'
      : 'reverted only in its block (state changed before it)'
  } catch (error) {
    const walked =
      error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
    if (walked instanceof ContractFunctionRevertedError) return walked.reason ?? walked.shortMessage
    return error instanceof BaseError ? error.shortMessage : String(error)
  }
}

export async function callWrite<
  const abi extends Abi,
  name extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(
  client: PublicClient,
  from: Address,
  to: Address,
  abi: abi,
  functionName: name,
  args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', name>,
  gas: bigint = DEFAULT_CALL_GAS,
): Promise<TransactionReceipt> {
  const data = encodeFunctionData({ abi, functionName, args } as never)
  return sendAndConfirm(client, { from, to, data, gas }, functionName)
}

export async function deployContract(
  client: PublicClient,
  from: Address,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
  label: string,
): Promise<Address> {
  const data = encodeDeployData({ abi, bytecode, args } as never)
  const receipt = await sendAndConfirm(client, { from, data }, `deploy ${label}`)
  if (!receipt.contractAddress) throw new UndertowError(`deploy ${label}: no contract address in receipt`)
  return getAddress(receipt.contractAddress)
}
