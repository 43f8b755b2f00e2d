/**
 * A client for one block builder's (or order-flow auction's) bundle API: `eth_sendBundle`,
 * `eth_callBundle`, `mev_sendBundle`, each request signed with the `X-Flashbots-Signature` header —
 * an EIP-191 signature of the hex keccak256 of the exact body sent, by the searcher's auth key
 * (never the liquidator's). Errors name the builder and the answer's message only: the body (signed
 * transactions) and the URL's path and query (where builders put tokens) never reach an error.
 */
import { type Address, type Hex, keccak256, type LocalAccount, stringToBytes, toHex } from 'viem'
import { displayUrl, redact } from '../errors.js'

export interface BuilderEndpoint {
  name: string
  url: string
  /** Whether it serves eth_callBundle (a pre-send check there). */
  callBundle: boolean
  /** The fee recipient of the blocks it builds: an included bundle is credited to it. */
  feeRecipient?: Address | undefined
}

export class RelayError extends Error {
  constructor(
    readonly builder: string,
    message: string,
  ) {
    super(`builder ${builder}: ${redact(message)}`)
    this.name = 'RelayError'
  }
}

export interface CallBundleResult {
  results: { txHash: Hex; gasUsed: number; error?: string; revert?: string }[]
  coinbaseDiff: string
  totalGasUsed: number
}

export interface RelayClient {
  readonly endpoint: BuilderEndpoint
  sendBundle(txs: Hex[], blockNumber: bigint): Promise<Hex>
  callBundle(txs: Hex[], blockNumber: bigint): Promise<CallBundleResult>
  /** MEV-Share v0.1: pending transactions by hash and signed ones, landing in [block, maxBlock]. */
  mevSendBundle(
    body: ({ hash: Hex } | { tx: Hex; canRevert: boolean })[],
    block: bigint,
    maxBlock: bigint,
  ): Promise<Hex>
}

export interface RelayClientOptions {
  timeoutMs?: number
  fetch?: typeof fetch
}

export function createRelayClient(
  endpoint: BuilderEndpoint,
  authKey: LocalAccount,
  options: RelayClientOptions = {},
): RelayClient {
  const doFetch = options.fetch ?? fetch
  const timeoutMs = options.timeoutMs ?? 2_000
  let id = 0

  async function request<T>(method: string, params: unknown[]): Promise<T> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params })
    const signature = await authKey.signMessage({ message: keccak256(stringToBytes(body)) })
    let response: Response
    try {
      response = await doFetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'X-Flashbots-Signature': `${authKey.address}:${signature}`,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      const reason =
        (error as { name?: string })?.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : 'unreachable'
      throw new RelayError(endpoint.name, `${displayUrl(endpoint.url)} ${reason}`)
    }
    const text = await response.text().catch(() => '')
    let json: { result?: T; error?: { code?: number; message?: string } }
    try {
      json = JSON.parse(text)
    } catch {
      throw new RelayError(endpoint.name, `HTTP ${response.status}, not a JSON-RPC answer`)
    }
    if (json.error)
      throw new RelayError(
        endpoint.name,
        `${method}: ${String(json.error.message ?? 'error').slice(0, 200)} (${json.error.code ?? '?'})`,
      )
    if (!response.ok) throw new RelayError(endpoint.name, `HTTP ${response.status}`)
    if (json.result === undefined) throw new RelayError(endpoint.name, `${method}: no result`)
    return json.result
  }

  const bundleHash = (result: unknown, method: string): Hex => {
    const hash = (result as { bundleHash?: unknown })?.bundleHash
    if (typeof hash !== 'string') throw new RelayError(endpoint.name, `${method}: answer has no bundleHash`)
    return hash as Hex
  }

  return {
    endpoint,
    async sendBundle(txs, blockNumber) {
      return bundleHash(
        await request('eth_sendBundle', [{ txs, blockNumber: toHex(blockNumber) }]),
        'eth_sendBundle',
      )
    },
    async callBundle(txs, blockNumber) {
      return request<CallBundleResult>('eth_callBundle', [
        { txs, blockNumber: toHex(blockNumber), stateBlockNumber: 'latest' },
      ])
    },
    async mevSendBundle(body, block, maxBlock) {
      return bundleHash(
        await request('mev_sendBundle', [
          { version: 'v0.1', inclusion: { block: toHex(block), maxBlock: toHex(maxBlock) }, body },
        ]),
        'mev_sendBundle',
      )
    },
  }
}
