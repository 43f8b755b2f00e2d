/**
 * A block builder for the devnet: anvil with mining off behind a small JSON-RPC front that speaks
 * the public builder API — `eth_sendRawTransaction`, `eth_sendBundle`, `eth_callBundle` and
 * `mev_sendBundle` with the request and response shapes of public builders and the
 * `X-Flashbots-Signature` header checked — so the daemon's bundle client is exercised as it is in
 * production. Every interval it builds one block: the public pool and the bundles for that block,
 * ranked by effective bid (what reaches the coinbase: priority fee × gas used plus any transfer),
 * bundles atomic and in order (a bundle with a transaction that reverts, and is not marked as
 * allowed to, is left out whole), then mines exactly that order on anvil. It belongs to the devnet,
 * never to the daemon.
 *
 * How a block is made on anvil: anvil runs with `--order fifo` and mining off; public transactions
 * are forwarded to its pool as they arrive (so pending-transaction subscribers see them as on any
 * node); at block time the builder empties the pool, sends the chosen transactions in the chosen
 * order, mines, and puts back the public ones it left out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type Address,
  concat,
  type Hex,
  hexToBigInt,
  keccak256,
  parseTransaction,
  recoverTransactionAddress,
  stringToBytes,
  toHex,
  verifyMessage,
} from 'viem'
import { type WebSocket, WebSocketServer, WebSocket as WsClient } from 'ws'

/** Where the builder's blocks pay: the coinbase its bids are measured at. */
export const BUILDER_COINBASE: Address = '0x000000000000000000000000000000000000b0b0'
/** A code-only account injected into simulations: returns the coinbase's balance. */
const COINBASE_PROBE: Address = '0x00000000000000000000000000000000000c0de0'
/** COINBASE BALANCE PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN */
const COINBASE_PROBE_CODE: Hex = '0x413160005260206000f3'

export interface BuilderOptions {
  /** anvil's HTTP and WebSocket endpoints (mining off, --order fifo). */
  anvilHttp: string
  anvilWs: string
  intervalMs: number
}

/**
 * A transaction the builder can simulate and send again: by its signed bytes, or (anvil's unlocked
 * and impersonated accounts, whose bytes carry no real signature) by the request that made it,
 * with every field fixed so anvil makes the same transaction again.
 */
export interface PoolTx {
  hash: Hex
  from: Address
  nonce: number
  call: SimCall
  raw?: Hex
  request?: Record<string, string>
  arrival: number
}

type BundleItem = PoolTx & { canRevert: boolean }

interface StoredBundle {
  method: 'eth_sendBundle' | 'mev_sendBundle'
  bundleHash: Hex
  signer: Address
  block: bigint
  maxBlock: bigint
  /** eth_sendBundle: signed transactions; mev_sendBundle: hashes from the pool and signed ones. */
  body: ({ raw: Hex; canRevert: boolean } | { hash: Hex })[]
  arrival: number
}

export interface BuiltBlock {
  number: bigint
  /** Transaction hashes in block order. */
  hashes: Hex[]
  /** The bundles included, by bundle hash. */
  bundles: Hex[]
}

export interface Builder {
  rpcUrl: string
  wsUrl: string
  /** Blocks built so far (newest last). */
  readonly blocks: BuiltBlock[]
  /** Bundles received, by method and signer. */
  readonly received: { method: string; signer: Address; bundleHash: Hex }[]
  /** Requests refused for a missing or wrong signature. */
  readonly refusedSignatures: number
  /** Leaves every bundle out of the next `blocks` blocks (a builder that did not pick them). */
  skipBundles(blocks: number): void
  /** Builds bundles again from the next block. */
  resumeBundles(): void
  /** Builds and mines one block now (besides the interval). */
  buildNow(): Promise<BuiltBlock | undefined>
  stop(): Promise<void>
}

interface Candidate {
  kind: 'public' | 'bundle'
  items: BundleItem[]
  bundleHash?: Hex
  arrival: number
  bid: bigint
  /** Gas the candidate used alone: its bid per gas is what ranks it. */
  gas: bigint
}

interface SimCall {
  from?: Address
  to?: Address | null
  data?: Hex
  value?: Hex
  gas?: Hex
  nonce?: Hex
  maxFeePerGas?: Hex
  maxPriorityFeePerGas?: Hex
  gasPrice?: Hex
}

interface SimResult {
  status: Hex
  gasUsed: Hex
  returnData: Hex
  error?: { message?: string }
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export async function startBuilder(options: BuilderOptions): Promise<Builder> {
  let id = 0
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const response = await fetch(options.anvilHttp, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
    })
    const json = (await response.json()) as { result?: T; error?: { code: number; message: string } }
    if (json.error) throw new RpcError(json.error.code, json.error.message)
    return json.result as T
  }

  await rpc('evm_setAutomine', [false])
  await rpc('evm_setIntervalMining', [0])
  await rpc('anvil_setCoinbase', [BUILDER_COINBASE])

  const slotSeconds = BigInt(Math.max(1, Math.round(options.intervalMs / 1000)))
  const pool = new Map<Hex, PoolTx>()
  const bundles: StoredBundle[] = []
  const blocks: BuiltBlock[] = []
  const received: Builder['received'] = []
  let refusedSignatures = 0
  let skip = 0
  let arrivals = 0
  /**
   * One thing at a time touches anvil's pool: a block being built, or a transaction arriving (one
   * that reached anvil between the build's pool read and its emptying would be lost).
   */
  let lock: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lock.then(fn, fn)
    lock = run.catch(() => undefined)
    return run
  }

  /**
   * Signed transactions already decoded, by their bytes: recovering a sender costs milliseconds,
   * and a searcher resends the same transactions in bundle after bundle (each target block, each
   * grown group) — decoding them anew each time stalled the builder for a second a block.
   */
  const decoded = new Map<Hex, Omit<PoolTx, 'arrival'>>()
  async function decode(raw: Hex): Promise<PoolTx> {
    let known = decoded.get(raw)
    if (!known) {
      const from = await recoverTransactionAddress({ serializedTransaction: raw as never })
      const tx = parseTransaction(raw)
      known = { hash: keccak256(raw), raw, from, nonce: tx.nonce ?? 0, call: simCall(raw, from) }
      if (decoded.size >= 4096) decoded.clear()
      decoded.set(raw, known)
    }
    return { ...known, arrival: arrivals++ }
  }

  /** A transaction in anvil's pool, by hash: its bytes when they carry a real signature, else its request. */
  async function fromNode(hash: Hex): Promise<PoolTx | undefined> {
    const tx = await rpc<Record<string, string> | null>('eth_getTransactionByHash', [hash])
    if (!tx) return undefined
    const raw = await rpc<Hex | null>('eth_getRawTransactionByHash', [hash]).catch(() => null)
    if (raw) {
      const signed = await decode(raw).catch(() => undefined)
      if (signed && signed.from.toLowerCase() === String(tx.from).toLowerCase()) return { ...signed, hash }
    }
    const request: Record<string, string> = {
      from: tx.from as string,
      data: (tx.input ?? '0x') as string,
      value: (tx.value ?? '0x0') as string,
      gas: tx.gas as string,
      nonce: tx.nonce as string,
    }
    if (tx.to) request.to = tx.to
    if (tx.maxFeePerGas) {
      request.maxFeePerGas = tx.maxFeePerGas
      request.maxPriorityFeePerGas = tx.maxPriorityFeePerGas ?? '0x0'
    } else if (tx.gasPrice) request.gasPrice = tx.gasPrice
    return {
      hash,
      from: tx.from as Address,
      nonce: Number(hexToBigInt(tx.nonce as Hex)),
      call: request as SimCall,
      request,
      arrival: arrivals++,
    }
  }

  const resend = (tx: PoolTx) =>
    tx.raw ? rpc('eth_sendRawTransaction', [tx.raw]) : rpc('eth_sendTransaction', [tx.request])

  /** eth_sendTransaction from an unlocked (or impersonated) devnet account: anvil makes it; it joins the pool. */
  const acceptUnsigned = (params: unknown[]): Promise<Hex> =>
    exclusive(async () => {
      const hash = await rpc<Hex>('eth_sendTransaction', params)
      const tx = await fromNode(hash)
      if (tx) pool.set(hash, tx)
      return hash
    })

  const acceptRaw = (raw: Hex): Promise<Hex> =>
    exclusive(async () => {
      const tx = await decode(raw)
      const hash = await rpc<Hex>('eth_sendRawTransaction', [raw])
      pool.set(hash, { ...tx, hash })
      return hash
    })

  function simCall(raw: Hex, from: Address): SimCall {
    const tx = parseTransaction(raw)
    const call: SimCall = {
      from,
      to: tx.to ?? null,
      data: tx.data ?? '0x',
      value: toHex(tx.value ?? 0n),
      gas: toHex(tx.gas ?? 30_000_000n),
      nonce: toHex(tx.nonce ?? 0),
    }
    if (tx.maxFeePerGas !== undefined) {
      call.maxFeePerGas = toHex(tx.maxFeePerGas)
      call.maxPriorityFeePerGas = toHex(tx.maxPriorityFeePerGas ?? 0n)
    } else if (tx.gasPrice !== undefined) call.gasPrice = toHex(tx.gasPrice)
    return call
  }

  /**
   * Simulates candidates in order on top of the head, in one eth_simulateV1 block, with the
   * coinbase probe around each: per candidate its bid (coinbase delta) and whether every
   * transaction that may not revert succeeded. Throws when the node refuses the block (a nonce out
   * of order, a fee below the base fee).
   */
  async function simulate(
    candidates: Candidate[],
    timestamp: bigint,
    stateBlock: Hex | 'latest' = 'latest',
  ): Promise<{ bid: bigint; ok: boolean; results: SimResult[] }[]> {
    const probe: SimCall = { to: COINBASE_PROBE, gas: toHex(100_000n) }
    const calls: SimCall[] = [probe]
    for (const c of candidates) {
      for (const item of c.items) calls.push(item.call)
      calls.push(probe)
    }
    const [block] = await rpc<{ calls: SimResult[] }[]>('eth_simulateV1', [
      {
        blockStateCalls: [
          {
            blockOverrides: { time: toHex(timestamp), feeRecipient: BUILDER_COINBASE },
            stateOverrides: { [COINBASE_PROBE]: { code: COINBASE_PROBE_CODE } },
            calls,
          },
        ],
        validation: true,
      },
      stateBlock,
    ])
    const results = block?.calls ?? []
    const balance = (i: number) => {
      const r = results[i]
      return r && r.status === '0x1' && r.returnData !== '0x' ? hexToBigInt(r.returnData) : 0n
    }
    const out: { bid: bigint; ok: boolean; results: SimResult[] }[] = []
    let at = 0
    for (const c of candidates) {
      const start = at
      const txResults = results.slice(start + 1, start + 1 + c.items.length)
      at = start + 1 + c.items.length
      const ok = c.items.every((item, k) => item.canRevert || txResults[k]?.status === '0x1')
      out.push({ bid: balance(at) - balance(start), ok, results: txResults })
    }
    return out
  }

  async function bundleCandidates(target: bigint): Promise<Candidate[]> {
    const out: Candidate[] = []
    for (const b of bundles) {
      if (target < b.block || target > b.maxBlock) continue
      const items: BundleItem[] = []
      let complete = true
      for (const part of b.body) {
        if ('hash' in part) {
          // An order-flow auction's reference to a pending transaction: it must be in the pool.
          const tx = pool.get(part.hash)
          if (!tx) {
            complete = false
            break
          }
          items.push({ ...tx, canRevert: false })
        } else items.push({ ...(await decode(part.raw)), canRevert: part.canRevert })
      }
      if (complete)
        out.push({ kind: 'bundle', items, bundleHash: b.bundleHash, arrival: b.arrival, bid: 0n, gas: 0n })
    }
    return out
  }

  /** Orders candidates by bid and keeps the ones that still succeed in that order. */
  async function choose(candidates: Candidate[], timestamp: bigint): Promise<Candidate[]> {
    // Each candidate alone gives its bid (bundles run in parallel; a public transaction alone
    // can fail for a nonce it waits on, and then keeps its fee-field estimate).
    await Promise.all(
      candidates.map(async (c) => {
        try {
          const [r] = await simulate([c], timestamp)
          c.bid = r?.bid ?? 0n
          c.gas = (r?.results ?? []).reduce((sum, x) => sum + hexToBigInt(x.gasUsed), 0n)
          if (c.kind === 'bundle' && !r?.ok) c.bid = -1n
        } catch {
          const call = (c.items[0] as BundleItem).call
          const tip = call.maxPriorityFeePerGas ?? call.gasPrice ?? '0x0'
          c.bid = c.kind === 'bundle' ? -1n : hexToBigInt(tip) * hexToBigInt(call.gas ?? '0x0')
          c.gas = hexToBigInt(call.gas ?? '0x0')
        }
      }),
    )
    const ranked = candidates
      .filter((c) => c.bid >= 0n)
      // Bundles by what reaches the coinbase; two public transactions by their tip per gas, as a
      // mempool is ordered (a larger transaction at the same tip does not jump ahead: a backrun
      // copying its update's fees stays behind it). Equal bids keep their arrival order.
      .sort((a, b) => {
        const perGas = a.kind === 'public' && b.kind === 'public'
        const pa = perGas ? a.bid * (b.gas > 0n ? b.gas : 1n) : a.bid
        const pb = perGas ? b.bid * (a.gas > 0n ? a.gas : 1n) : b.bid
        return pa === pb ? a.arrival - b.arrival : pa > pb ? -1 : 1
      })
    // A sender's public transactions keep their nonce order among the places they ranked at.
    const bySender = new Map<Address, number[]>()
    for (let i = 0; i < ranked.length; i++) {
      const c = ranked[i] as Candidate
      if (c.kind !== 'public') continue
      const from = (c.items[0] as BundleItem).from
      bySender.set(from, [...(bySender.get(from) ?? []), i])
    }
    for (const positions of bySender.values()) {
      const group = positions.map((i) => ranked[i] as Candidate)
      group.sort((a, b) => nonceOf(a) - nonceOf(b))
      positions.forEach((i, k) => {
        ranked[i] = group[k] as Candidate
      })
    }
    // Nonces are checked here: anvil's eth_simulateV1 does not refuse a nonce already used or one
    // past a gap, and anvil would leave such a transaction out of the mined block.
    const chainNonce = new Map<string, number>()
    for (const c of ranked)
      for (const item of c.items) {
        const from = item.from.toLowerCase()
        if (!chainNonce.has(from))
          chainNonce.set(
            from,
            Number(hexToBigInt(await rpc<Hex>('eth_getTransactionCount', [item.from, 'latest']))),
          )
      }
    /**
     * In rank order, what can go in: each transaction once, each sender's nonces consecutive from
     * its account's (a candidate waiting on another's nonce goes in after it, in a later pass);
     * a candidate with a used nonce never.
     */
    const orderable = (list: Candidate[]) => {
      const out: Candidate[] = []
      const usedHashes = new Set<Hex>()
      const next = new Map(chainNonce)
      let remaining = [...list]
      for (let progress = true; progress && remaining.length > 0; ) {
        progress = false
        const waiting: Candidate[] = []
        for (const c of remaining) {
          if (c.items.some((item) => usedHashes.has(item.hash))) continue
          const trial = new Map<string, number>()
          let verdict: 'fits' | 'waits' | 'stale' = 'fits'
          for (const item of c.items) {
            const from = item.from.toLowerCase()
            const expected = trial.get(from) ?? (next.get(from) as number)
            if (item.nonce < expected) verdict = 'stale'
            else if (item.nonce > expected && verdict === 'fits') verdict = 'waits'
            trial.set(from, item.nonce + 1)
          }
          if (verdict === 'stale') continue
          if (verdict === 'waits') {
            waiting.push(c)
            continue
          }
          out.push(c)
          for (const item of c.items) usedHashes.add(item.hash)
          for (const [from, n] of trial) next.set(from, n)
          progress = true
        }
        remaining = waiting
      }
      return out
    }
    // The whole ranked block at once; a bundle that fails in it is left out whole and the rest
    // is simulated again.
    const excluded = new Set<Candidate>()
    for (let round = 0; round < 16; round++) {
      const list = orderable(ranked.filter((c) => !excluded.has(c)))
      let results: Awaited<ReturnType<typeof simulate>>
      try {
        results = await simulate(list, timestamp)
      } catch {
        break
      }
      const failing = list.filter((_, i) => !results[i]?.ok)
      if (failing.length === 0) return list
      for (const c of failing) excluded.add(c)
    }
    // The node refused the block as a whole (a fee below the base fee): one candidate at a time.
    const chosen: Candidate[] = []
    for (const c of orderable(ranked.filter((c) => !excluded.has(c)))) {
      try {
        if ((await simulate([...chosen, c], timestamp)).every((r) => r.ok)) chosen.push(c)
      } catch {
        // left out
      }
    }
    return chosen
  }

  const nonceOf = (c: Candidate) => (c.items[0] as BundleItem).nonce

  async function build(): Promise<BuiltBlock | undefined> {
    const head = await rpc<{ number: Hex; timestamp: Hex }>('eth_getBlockByNumber', ['latest', false])
    const target = hexToBigInt(head.number) + 1n
    // A slot clock: each block exactly one interval (at least a second) after its parent, so the
    // next block's time is known and per-second accrual is predicted to the unit.
    const timestamp = hexToBigInt(head.timestamp) + slotSeconds
    // Transactions sent to anvil directly (not through this front) are in its pool too.
    const content = await rpc<{ pending: Record<string, Record<string, { hash: Hex }>> }>('txpool_content')
    const inAnvil = new Set<Hex>()
    for (const byNonce of Object.values(content.pending))
      for (const tx of Object.values(byNonce)) inAnvil.add(tx.hash)
    for (const hash of inAnvil)
      if (!pool.has(hash)) {
        const tx = await fromNode(hash)
        if (tx) pool.set(hash, tx)
      }
    for (const hash of [...pool.keys()]) if (!inAnvil.has(hash)) pool.delete(hash)

    const publicCandidates: Candidate[] = [...pool.values()].map((tx) => ({
      kind: 'public',
      items: [{ ...tx, canRevert: true }],
      arrival: tx.arrival,
      bid: 0n,
      gas: 0n,
    }))
    const bundleSet = skip > 0 ? [] : await bundleCandidates(target)
    if (skip > 0) skip--
    const chosen = await choose([...bundleSet, ...publicCandidates], timestamp)
    const order = chosen.flatMap((c) => c.items)

    await rpc('anvil_dropAllTransactions')
    for (const item of order) await resend(item)
    await rpc('evm_mine', [Number(timestamp)])
    const mined = await rpc<{ number: Hex; transactions: Hex[] }>('eth_getBlockByNumber', ['latest', false])
    const built: BuiltBlock = {
      number: hexToBigInt(mined.number),
      hashes: mined.transactions,
      bundles: chosen.flatMap((c) => (c.bundleHash ? [c.bundleHash] : [])),
    }
    blocks.push(built)
    // What was left out stays pending (those whose nonce is now used are gone for good).
    const included = new Set(mined.transactions)
    for (const [hash, tx] of pool) {
      if (included.has(hash)) {
        pool.delete(hash)
        continue
      }
      try {
        await resend(tx)
      } catch {
        pool.delete(hash)
      }
    }
    // Bundles past their last block are gone.
    for (let i = bundles.length - 1; i >= 0; i--)
      if ((bundles[i] as StoredBundle).maxBlock <= built.number) bundles.splice(i, 1)
    return built
  }

  const buildNow = (): Promise<BuiltBlock | undefined> => exclusive(build)

  // ---- the JSON-RPC front ----

  async function verifySignature(req: IncomingMessage, body: string): Promise<Address> {
    const header = req.headers['x-flashbots-signature']
    const value = Array.isArray(header) ? header[0] : header
    if (!value) throw new RpcError(-32600, 'missing X-Flashbots-Signature header')
    const [signer, signature] = value.split(':')
    if (!signer || !signature || !/^0x[0-9a-fA-F]{40}$/.test(signer) || !/^0x[0-9a-fA-F]+$/.test(signature))
      throw new RpcError(-32600, 'malformed X-Flashbots-Signature header')
    const ok = await verifyMessage({
      address: signer as Address,
      message: keccak256(stringToBytes(body)),
      signature: signature as Hex,
    }).catch(() => false)
    if (!ok) throw new RpcError(-32600, 'signature does not match the body')
    return signer as Address
  }

  const bundleHashOf = (hashes: Hex[]): Hex => keccak256(hashes.length > 0 ? concat(hashes) : '0x')

  async function sendBundle(params: unknown, signer: Address): Promise<{ bundleHash: Hex }> {
    const p = params as { txs?: unknown; blockNumber?: unknown; revertingTxHashes?: unknown }
    if (!Array.isArray(p?.txs) || p.txs.length === 0 || typeof p.blockNumber !== 'string')
      throw new RpcError(-32602, 'eth_sendBundle needs txs and blockNumber')
    const txs = p.txs as Hex[]
    const reverting = new Set(((p.revertingTxHashes as Hex[] | undefined) ?? []).map((h) => h.toLowerCase()))
    for (const raw of txs)
      await decode(raw).catch(() => Promise.reject(new RpcError(-32602, 'bad transaction')))
    const hashes = txs.map((raw) => keccak256(raw))
    const bundleHash = bundleHashOf(hashes)
    const block = hexToBigInt(p.blockNumber as Hex)
    bundles.push({
      method: 'eth_sendBundle',
      bundleHash,
      signer,
      block,
      maxBlock: block,
      body: txs.map((raw, i) => ({ raw, canRevert: reverting.has((hashes[i] as Hex).toLowerCase()) })),
      arrival: arrivals++,
    })
    received.push({ method: 'eth_sendBundle', signer, bundleHash })
    return { bundleHash }
  }

  async function mevSendBundle(params: unknown, signer: Address): Promise<{ bundleHash: Hex }> {
    const p = params as {
      version?: unknown
      inclusion?: { block?: unknown; maxBlock?: unknown }
      body?: unknown
    }
    if (p?.version !== 'v0.1' || typeof p.inclusion?.block !== 'string' || !Array.isArray(p.body))
      throw new RpcError(-32602, 'mev_sendBundle needs version v0.1, inclusion.block and body')
    const body: StoredBundle['body'] = []
    const hashes: Hex[] = []
    for (const part of p.body as { hash?: Hex; tx?: Hex; canRevert?: boolean }[]) {
      if (typeof part.hash === 'string') {
        body.push({ hash: part.hash.toLowerCase() as Hex })
        hashes.push(part.hash)
      } else if (typeof part.tx === 'string') {
        await decode(part.tx).catch(() => Promise.reject(new RpcError(-32602, 'bad transaction')))
        body.push({ raw: part.tx, canRevert: part.canRevert === true })
        hashes.push(keccak256(part.tx))
      } else throw new RpcError(-32602, 'a body element needs hash or tx')
    }
    const block = hexToBigInt(p.inclusion.block as Hex)
    const maxBlock =
      typeof p.inclusion.maxBlock === 'string' ? hexToBigInt(p.inclusion.maxBlock as Hex) : block
    const bundleHash = bundleHashOf(hashes)
    bundles.push({ method: 'mev_sendBundle', bundleHash, signer, block, maxBlock, body, arrival: arrivals++ })
    received.push({ method: 'mev_sendBundle', signer, bundleHash })
    return { bundleHash }
  }

  async function callBundle(params: unknown): Promise<unknown> {
    const p = params as {
      txs?: unknown
      blockNumber?: unknown
      stateBlockNumber?: unknown
      timestamp?: unknown
    }
    if (!Array.isArray(p?.txs) || typeof p.blockNumber !== 'string')
      throw new RpcError(-32602, 'eth_callBundle needs txs and blockNumber')
    const txs = p.txs as Hex[]
    const head = await rpc<{ number: Hex; timestamp: Hex }>('eth_getBlockByNumber', ['latest', false])
    const timestamp = typeof p.timestamp === 'number' ? BigInt(p.timestamp) : hexToBigInt(head.timestamp) + 1n
    const candidates: Candidate[] = await Promise.all(
      txs.map(async (raw, i) => ({
        kind: 'bundle' as const,
        items: [{ ...(await decode(raw)), canRevert: false }],
        arrival: i,
        bid: 0n,
        gas: 0n,
      })),
    )
    const out = await simulate(candidates, timestamp, (p.stateBlockNumber as Hex | undefined) ?? 'latest')
    let totalGas = 0n
    let coinbaseDiff = 0n
    const results = await Promise.all(
      out.map(async (r, i) => {
        const raw = txs[i] as Hex
        const tx = parseTransaction(raw)
        const res = r.results[0]
        const gasUsed = res ? hexToBigInt(res.gasUsed) : 0n
        totalGas += gasUsed
        coinbaseDiff += r.bid
        return {
          txHash: keccak256(raw),
          fromAddress: (candidates[i] as Candidate).items[0]?.from,
          toAddress: tx.to ?? null,
          gasUsed: Number(gasUsed),
          gasPrice: (gasUsed > 0n ? r.bid / gasUsed : 0n).toString(),
          gasFees: r.bid.toString(),
          coinbaseDiff: r.bid.toString(),
          ethSentToCoinbase: '0',
          ...(res?.status === '0x1'
            ? { value: res.returnData }
            : { error: 'execution reverted', revert: res?.returnData ?? '0x' }),
        }
      }),
    )
    return {
      bundleGasPrice: (totalGas > 0n ? coinbaseDiff / totalGas : 0n).toString(),
      bundleHash: bundleHashOf(txs.map((raw) => keccak256(raw))),
      coinbaseDiff: coinbaseDiff.toString(),
      ethSentToCoinbase: '0',
      gasFees: coinbaseDiff.toString(),
      results,
      stateBlockNumber: Number(hexToBigInt(head.number)),
      totalGasUsed: Number(totalGas),
    }
  }

  async function handle(
    method: string,
    params: unknown[],
    req: IncomingMessage | undefined,
    body: string,
  ): Promise<{ result: unknown } | 'forward'> {
    switch (method) {
      case 'eth_sendRawTransaction':
        return { result: await acceptRaw(params[0] as Hex) }
      case 'eth_sendTransaction':
        return { result: await acceptUnsigned(params) }
      case 'eth_sendBundle':
      case 'mev_sendBundle':
      case 'eth_callBundle': {
        if (!req) throw new RpcError(-32601, `${method} is served over HTTP`)
        let signer: Address
        try {
          signer = await verifySignature(req, body)
        } catch (error) {
          refusedSignatures++
          throw error
        }
        if (method === 'eth_sendBundle') return { result: await sendBundle(params[0], signer) }
        if (method === 'mev_sendBundle') return { result: await mevSendBundle(params[0], signer) }
        return { result: await callBundle(params[0]) }
      }
      default:
        return 'forward'
    }
  }

  /** Passes a request to anvil unchanged and its answer back. */
  async function forward(res: ServerResponse, body: string): Promise<void> {
    const upstream = await fetch(options.anvilHttp, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    res.writeHead(upstream.status, { 'content-type': 'application/json' })
    res.end(await upstream.text())
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      void (async () => {
        let request: { id?: unknown; method?: unknown; params?: unknown }
        try {
          request = JSON.parse(body)
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' })
          res.end(
            JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }),
          )
          return
        }
        // Batches and everything not the builder's own go to anvil unchanged.
        if (Array.isArray(request) || typeof request.method !== 'string') {
          await forward(res, body)
          return
        }
        try {
          const answer = await handle(
            request.method,
            Array.isArray(request.params) ? request.params : [],
            req,
            body,
          )
          if (answer === 'forward') {
            await forward(res, body)
            return
          }
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ jsonrpc: '2.0', id: request.id ?? null, result: answer.result }))
        } catch (error) {
          const code = error instanceof RpcError ? error.code : -32603
          const status = code === -32600 ? 403 : 200
          res.writeHead(status, { 'content-type': 'application/json' })
          res.end(
            JSON.stringify({
              jsonrpc: '2.0',
              id: request.id ?? null,
              error: { code, message: error instanceof Error ? error.message : String(error) },
            }),
          )
        }
      })().catch(() => {
        if (!res.headersSent) res.writeHead(502)
        res.end()
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port

  // WebSocket front: subscriptions and reads go to anvil's own socket; raw transactions through
  // the builder, so they wait out a block being built like those sent over HTTP.
  const wss = new WebSocketServer({ server })
  wss.on('connection', (client: WebSocket) => {
    const upstream = new WsClient(options.anvilWs)
    const queued: string[] = []
    upstream.on('open', () => {
      for (const m of queued.splice(0)) upstream.send(m)
    })
    upstream.on('message', (data) => {
      if (client.readyState === client.OPEN) client.send(data.toString())
    })
    const close = () => {
      client.close()
      upstream.close()
    }
    upstream.on('close', close)
    upstream.on('error', close)
    client.on('close', close)
    client.on('error', close)
    client.on('message', (data) => {
      const text = data.toString()
      let message: { id?: unknown; method?: unknown; params?: unknown }
      try {
        message = JSON.parse(text)
      } catch {
        return
      }
      const own =
        message.method === 'eth_sendRawTransaction'
          ? () => acceptRaw((message.params as Hex[])[0] as Hex)
          : message.method === 'eth_sendTransaction'
            ? () => acceptUnsigned(message.params as unknown[])
            : undefined
      if (own && Array.isArray(message.params)) {
        own().then(
          (result) => client.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, result })),
          (error: unknown) =>
            client.send(
              JSON.stringify({
                jsonrpc: '2.0',
                id: message.id,
                error: {
                  code: error instanceof RpcError ? error.code : -32603,
                  message: error instanceof Error ? error.message : String(error),
                },
              }),
            ),
        )
        return
      }
      if (upstream.readyState === upstream.OPEN) upstream.send(text)
      else queued.push(text)
    })
  })

  // Blocks on a schedule (a slow build does not push the next slot).
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const started = performance.now()
  let slot = 0
  const next = () => {
    if (stopped) return
    slot++
    timer = setTimeout(
      () => {
        // A failed build leaves the pool as it was: the next slot builds from it.
        void buildNow().catch(() => undefined)
        next()
      },
      Math.max(0, started + slot * options.intervalMs - performance.now()),
    )
  }
  next()

  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    blocks,
    received,
    get refusedSignatures() {
      return refusedSignatures
    },
    skipBundles(n) {
      skip += n
    },
    resumeBundles() {
      skip = 0
    },
    buildNow,
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await lock
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
