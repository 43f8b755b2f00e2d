/**
 * Connects to the configured node and checks that it is the chain we were told about. A node that
 * answers garbage, rate-limits or drops the request is retried with backoff; one that refuses the
 * connection is retried briefly (it may be restarting); then either becomes one line that shows the
 * host but never the URL's path or token. A wrong chain fails at once.
 */
import type { PublicClient } from 'viem'
import { displayUrl, FatalError } from '../errors.js'
import { httpClient } from './rpc.js'

const refused = (error: unknown) =>
  error instanceof Error &&
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|fetch failed/i.test(
    `${error.message} ${(error as { details?: string }).details}`,
  )

export async function connectHttp(
  rpcUrl: string,
  expectedChainId: number | undefined,
  onRequest?: () => void,
  options: { attempts?: number; refusedAttempts?: number; baseMs?: number } = {},
): Promise<{ client: PublicClient; chainId: number }> {
  const probe = httpClient(rpcUrl, expectedChainId ?? 1)
  let chainId: number | undefined
  let lastError: unknown
  for (let attempt = 1; chainId === undefined; attempt++) {
    try {
      const answer = await probe.request({ method: 'eth_chainId' }, { retryCount: 1 })
      if (typeof answer !== 'string' || !/^0x[0-9a-f]+$/i.test(answer)) throw new Error('not a chain id')
      chainId = Number(answer)
    } catch (error) {
      lastError = error
      const limit = refused(error) ? (options.refusedAttempts ?? 3) : (options.attempts ?? 8)
      if (attempt >= limit) {
        const reason = refused(error) ? 'connection refused' : 'no valid answer'
        throw new FatalError(`cannot reach RPC ${displayUrl(rpcUrl)} (${reason})`, { cause: lastError })
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(10_000, (options.baseMs ?? 250) * 2 ** (attempt - 1))),
      )
    }
  }
  if (expectedChainId !== undefined && chainId !== expectedChainId) {
    throw new FatalError(
      `wrong chain: RPC ${displayUrl(rpcUrl)} is chain ${chainId}, configuration says ${expectedChainId}`,
    )
  }
  return { client: httpClient(rpcUrl, chainId, onRequest), chainId }
}
