/**
 * The devnet's block builder on a real anvil, driven through the daemon's own relay client: the
 * signature header is checked, blocks are ordered by what reaches the coinbase, a bundle with a
 * transaction that reverts is left out whole, an order-flow auction backrun lands right after the
 * pending transaction it names (and not at all when that transaction is not pending), and
 * eth_callBundle answers in the public shape.
 */
import { type Address, type Hex, keccak256, type LocalAccount, parseGwei, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpClient } from '../../src/chain/rpc.js'
import { type AnvilInstance, startAnvil } from '../../src/chain/startAnvil.js'
import { BUILDER_COINBASE, type Builder, startBuilder } from '../../src/devnet/builder.js'
import { createRelayClient, type RelayClient } from '../../src/executor/relayClient.js'

let anvil: AnvilInstance
let builder: Builder
let relay: RelayClient
const REVERTER: Address = '0x00000000000000000000000000000000000dead1'
const searcher = privateKeyToAccount(generatePrivateKey())
const wallets = Array.from({ length: 4 }, () => privateKeyToAccount(generatePrivateKey()))
const nonces = new Map<Address, number>()
const client = () => httpClient(anvil.rpcUrl, anvil.chainId)

beforeAll(async () => {
  anvil = await startAnvil({ order: 'fifo' })
  const c = client()
  for (const w of wallets)
    await c.request({ method: 'anvil_setBalance', params: [w.address, toHex(10n ** 20n)] } as never)
  // PUSH1 0 PUSH1 0 REVERT: every call reverts.
  await c.request({ method: 'anvil_setCode', params: [REVERTER, '0x60006000fd'] } as never)
  // Blocks only when a test asks for one.
  builder = await startBuilder({ anvilHttp: anvil.rpcUrl, anvilWs: anvil.wsUrl, intervalMs: 3_600_000 })
  relay = createRelayClient({ name: 'devnet', url: builder.rpcUrl, callBundle: true }, searcher)
})
afterAll(async () => {
  await builder?.stop()
  await anvil?.stop()
})

async function signed(wallet: LocalAccount, tipGwei: string, to: Address = wallet.address): Promise<Hex> {
  const nonce = nonces.get(wallet.address) ?? 0
  nonces.set(wallet.address, nonce + 1)
  return wallet.signTransaction({
    chainId: anvil.chainId,
    type: 'eip1559',
    nonce,
    to,
    value: 1n,
    gas: 50_000n,
    maxFeePerGas: parseGwei('100'),
    maxPriorityFeePerGas: parseGwei(tipGwei),
  })
}

const sendPublic = async (raw: Hex): Promise<Hex> => {
  const response = await fetch(builder.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] }),
  })
  const json = (await response.json()) as { result?: Hex; error?: { message: string } }
  if (!json.result) throw new Error(json.error?.message ?? 'no result')
  return json.result
}

const head = async () => (await client().getBlock()).number

describe('devnet block builder', () => {
  it('refuses a bundle without a valid X-Flashbots-Signature', async () => {
    const raw = await signed(wallets[0] as LocalAccount, '1')
    nonces.set((wallets[0] as LocalAccount).address, 0)
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_sendBundle',
      params: [{ txs: [raw], blockNumber: toHex((await head()) + 1n) }],
    })
    const refusedBefore = builder.refusedSignatures
    const missing = await fetch(builder.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    expect(missing.status).toBe(403)
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/missing/)
    // Signed by someone, but over another body.
    const other = await searcher.signMessage({ message: keccak256(toHex('another body')) })
    const wrong = await fetch(builder.rpcUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'X-Flashbots-Signature': `${searcher.address}:${other}`,
      },
      body,
    })
    expect(wrong.status).toBe(403)
    expect(builder.refusedSignatures).toBe(refusedBefore + 2)
    expect(builder.received).toHaveLength(0)
  })

  it('orders a block by effective bid and keeps a bundle atomic', async () => {
    const [a, b, c] = wallets as [LocalAccount, LocalAccount, LocalAccount]
    const low = await sendPublic(await signed(a, '1'))
    const high = await sendPublic(await signed(b, '5'))
    // A bundle whose second transaction reverts: neither of its transactions may land.
    const ok = await signed(c, '50')
    const reverting = await signed(c, '50', REVERTER)
    const target = (await head()) + 1n
    const bundleHash = await relay.sendBundle([ok, reverting], target)
    expect(builder.received.at(-1)).toEqual({
      method: 'eth_sendBundle',
      signer: searcher.address,
      bundleHash,
    })
    const block = await builder.buildNow()
    expect(block?.number).toBe(target)
    expect(block?.hashes).toEqual([high, low])
    expect(block?.bundles).toEqual([])
    const mined = await client().getBlock({ blockNumber: target })
    expect(mined.miner.toLowerCase()).toBe(BUILDER_COINBASE)
    expect(mined.transactions).toEqual([high, low])
    nonces.set(c.address, 0)
  })

  it('an auction backrun lands right after the pending transaction it names, ahead of a higher public bid', async () => {
    const [a, b, c] = wallets as [LocalAccount, LocalAccount, LocalAccount]
    const oracle = await sendPublic(await signed(a, '1'))
    const competitor = await sendPublic(await signed(b, '20'))
    const backrun = await signed(c, '30')
    const target = (await head()) + 1n
    await relay.mevSendBundle([{ hash: oracle }, { tx: backrun, canRevert: false }], target, target + 2n)
    const block = await builder.buildNow()
    expect(block?.hashes).toEqual([oracle, keccak256(backrun), competitor])
    expect(block?.bundles).toHaveLength(1)
  })

  it('an auction bundle naming a transaction that is not pending is not built, and expires', async () => {
    const [, , c, d] = wallets as [LocalAccount, LocalAccount, LocalAccount, LocalAccount]
    const missing = keccak256(toHex('never sent'))
    const backrun = await signed(d, '30')
    const target = (await head()) + 1n
    await relay.mevSendBundle([{ hash: missing }, { tx: backrun, canRevert: false }], target, target)
    const filler = await sendPublic(await signed(c, '1'))
    const block = await builder.buildNow()
    expect(block?.hashes).toEqual([filler])
    // Its last block has passed: the next block does not carry it either.
    const next = await builder.buildNow()
    expect(next?.hashes).toEqual([])
    nonces.set(d.address, 0)
  })

  it('skipped bundles are not built; eth_callBundle reports gas and reverts per transaction', async () => {
    const [, , , d] = wallets as [LocalAccount, LocalAccount, LocalAccount, LocalAccount]
    const nonce = nonces.get(d.address) ?? 0
    const raw = await signed(d, '2')
    const bad = await signed(d, '2', REVERTER)
    const call = await relay.callBundle([raw, bad], (await head()) + 1n)
    expect(call.results.map((r) => r.txHash)).toEqual([keccak256(raw), keccak256(bad)])
    expect(call.results[0]?.gasUsed).toBe(21_000)
    expect(call.results[0]?.error).toBeUndefined()
    expect(call.results[1]?.error).toMatch(/revert/)
    expect(BigInt(call.coinbaseDiff)).toBeGreaterThan(0n)
    nonces.set(d.address, nonce + 1)
    builder.skipBundles(1)
    const target = (await head()) + 1n
    await relay.sendBundle([raw], target)
    await relay.sendBundle([raw], target + 1n)
    expect((await builder.buildNow())?.hashes).toEqual([])
    expect((await builder.buildNow())?.hashes).toEqual([keccak256(raw)])
  })
})
