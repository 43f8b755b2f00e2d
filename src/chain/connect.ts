/**
 * Connects to the configured node and checks that it is the chain we were told about. Unreachable
 * nodes and wrong chains become one-line errors that show the host but never the URL's path or token.
 */
import type { PublicClient } from 'viem'
import { displayUrl, FatalError } from '../errors.js'
import { httpClient } from './rpc.js'

export async function connectHttp(
  rpcUrl: string,
  expectedChainId: number | undefined,
  onRequest?: () => void,
): Promise<{ client: PublicClient; chainId: number }> {
  const probe = httpClient(rpcUrl, expectedChainId ?? 1)
  let chainId: number
  try {
    chainId = Number(await probe.request({ method: 'eth_chainId' }, { retryCount: 1 }))
  } catch (error) {
    const reason =
      error instanceof Error &&
      /ECONNREFUSED|fetch failed/i.test(`${error.message} ${(error as { details?: string }).details}`)
        ? 'connection refused'
        : 'no valid answer'
    throw new FatalError(`cannot reach RPC ${displayUrl(rpcUrl)} (${reason})`, { cause: error })
  }
  if (expectedChainId !== undefined && chainId !== expectedChainId) {
    throw new FatalError(
      `wrong chain: RPC ${displayUrl(rpcUrl)} is chain ${chainId}, configuration says ${expectedChainId}`,
    )
  }
  return { client: httpClient(rpcUrl, chainId, onRequest), chainId }
}
