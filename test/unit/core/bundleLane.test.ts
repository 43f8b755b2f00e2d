/**
 * The relay client and the bundle lane with scripted builders: the signature header verifies
 * against the exact body sent, a builder's error answer becomes one error that carries neither the
 * body nor the URL's token, one failing builder costs one log line while another accepts, and a
 * send fails only when every builder refused.
 */
import { Writable } from 'node:stream'
import { type Address, type Hex, keccak256, stringToBytes, verifyMessage } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createBundleLane } from '../../../src/executor/bundleLane.js'
import { createRelayClient, type RelayClient } from '../../../src/executor/relayClient.js'
import { createLogger } from '../../../src/logger.js'
import { createMetrics } from '../../../src/metrics.js'
import { opportunity, pendingTx } from '../../support/fakes.js'

const auth = privateKeyToAccount(generatePrivateKey())
const SIGNED = `0x02${'ab'.repeat(120)}` as Hex

type Answer = { status?: number; body: string } | 'unreachable'

function scripted(answer: (body: string, headers: Record<string, string>) => Answer) {
  const seen: { body: string; headers: Record<string, string> }[] = []
  const fetchImpl = (async (_url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>
    const body = init.body as string
    seen.push({ body, headers })
    const a = answer(body, headers)
    if (a === 'unreachable') throw new TypeError('fetch failed')
    return new Response(a.body, { status: a.status ?? 200 })
  }) as unknown as typeof fetch
  return { seen, fetchImpl }
}

const ok = (body: string) => {
  const { id } = JSON.parse(body) as { id: number }
  return { body: JSON.stringify({ jsonrpc: '2.0', id, result: { bundleHash: `0x${'11'.repeat(32)}` } }) }
}

describe('relay client', () => {
  it('signs the exact body it sends with the auth key', async () => {
    const { seen, fetchImpl } = scripted(ok)
    const relay = createRelayClient({ name: 'b', url: 'https://builder.example/', callBundle: false }, auth, {
      fetch: fetchImpl,
    })
    expect(await relay.sendBundle([SIGNED], 100n)).toBe(`0x${'11'.repeat(32)}`)
    const { body, headers } = seen[0] as { body: string; headers: Record<string, string> }
    expect(JSON.parse(body)).toMatchObject({
      method: 'eth_sendBundle',
      params: [{ txs: [SIGNED], blockNumber: '0x64' }],
    })
    const [address, signature] = (headers['X-Flashbots-Signature'] as string).split(':')
    expect(address).toBe(auth.address)
    expect(
      await verifyMessage({
        address: auth.address,
        message: keccak256(stringToBytes(body)),
        signature: signature as Hex,
      }),
    ).toBe(true)
    // Over any other body it does not verify.
    expect(
      await verifyMessage({
        address: auth.address,
        message: keccak256(stringToBytes(`${body} `)),
        signature: signature as Hex,
      }),
    ).toBe(false)
  })

  it('an error answer, garbage, or no answer: one error naming the builder, never the body or the token', async () => {
    const cases: [Answer, RegExp][] = [
      [
        { status: 403, body: '{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"bad signature"}}' },
        /builder b: eth_sendBundle: bad signature \(-32600\)/,
      ],
      [{ status: 502, body: '<html>bad gateway</html>' }, /builder b: HTTP 502, not a JSON-RPC answer/],
      ['unreachable', /builder b: https:\/\/builder\.example\/… unreachable/],
    ]
    for (const [answer, message] of cases) {
      const { fetchImpl } = scripted(() => answer)
      const relay = createRelayClient(
        { name: 'b', url: 'https://builder.example/key/SECRET', callBundle: false },
        auth,
        {
          fetch: fetchImpl,
        },
      )
      const error = await relay.sendBundle([SIGNED], 1n).then(
        () => undefined,
        (e: Error) => e,
      )
      expect(error?.message).toMatch(message)
      expect(error?.message).not.toMatch(/SECRET|abab/)
    }
  })
})

describe('bundle lane', () => {
  function lane(relays: RelayClient[], backrun: 'bundle' | 'auction') {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _e, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean))
        done()
      },
    })
    const metrics = createMetrics()
    const client = {
      request: async () => `0x02${'cd'.repeat(100)}`,
      getBlock: async () => ({ miner: '0x000000000000000000000000000000000000b0b0' }),
    }
    return {
      lines,
      metrics,
      lane: createBundleLane({
        relays,
        backrun,
        targetBlocks: 3,
        client: client as never,
        log: createLogger('debug', { pretty: false, destination: stream }),
        metrics,
      }),
    }
  }
  const relayOf = (name: string, answer: (body: string) => Answer) => {
    const s = scripted(answer)
    return {
      ...s,
      relay: createRelayClient({ name, url: `https://${name}.example/`, callBundle: false }, auth, {
        fetch: s.fetchImpl,
      }),
    }
  }

  it('one builder failing costs one log line; the bundle goes to the other, one per target block', async () => {
    const dead = relayOf('dead', () => 'unreachable')
    const live = relayOf('live', ok)
    const { lane: l, lines } = lane([dead.relay, live.relay], 'bundle')
    const opp = opportunity('k', 10n)
    expect(await l.submit(SIGNED, { opportunity: opp, headNumber: 10n })).toBe(keccak256(SIGNED))
    expect(await l.submit(SIGNED, { opportunity: opp, headNumber: 11n })).toBe(keccak256(SIGNED))
    const blocks = live.seen.map(
      (s) => (JSON.parse(s.body) as { params: [{ blockNumber: string }] }).params[0].blockNumber,
    )
    expect(blocks).toEqual(['0xb', '0xc', '0xd', '0xc', '0xd', '0xe'])
    expect(lines.filter((line) => line.includes('builder refused a bundle'))).toHaveLength(1)
    for (const line of lines) expect(line).not.toContain('abab')
  })

  it('a backrun goes to the auction as the oracle update hash then ours; every builder refusing fails the send', async () => {
    const live = relayOf('live', ok)
    const { lane: l } = lane([live.relay], 'auction')
    const oracle = pendingTx(7, '0x00000000000000000000000000000000000000fe')
    const opp = { ...opportunity('k', 10n), dependsOn: oracle }
    await l.submit(SIGNED, { opportunity: opp, headNumber: 20n })
    const sent = JSON.parse(live.seen[0]?.body as string) as { method: string; params: unknown[] }
    expect(sent.method).toBe('mev_sendBundle')
    expect(sent.params[0]).toEqual({
      version: 'v0.1',
      inclusion: { block: '0x15', maxBlock: '0x17' },
      body: [{ hash: oracle.hash }, { tx: SIGNED, canRevert: false }],
    })
    const refusing = relayOf('refusing', () => ({
      body: '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"nope"}}',
    }))
    const { lane: none } = lane([refusing.relay], 'auction')
    await expect(none.submit(SIGNED, { opportunity: opp, headNumber: 20n })).rejects.toThrow(
      /no builder accepted the bundle/,
    )
  })

  it('backruns sent at one head also go as one bundle: the updates once, then ours in nonce order', async () => {
    const live = relayOf('live', ok)
    const { lane: l } = lane([live.relay], 'auction')
    const first = pendingTx(7, '0x00000000000000000000000000000000000000fe')
    const second = pendingTx(8, '0x00000000000000000000000000000000000000fe')
    const sign = (nonce: number) =>
      auth.signTransaction({
        chainId: 1,
        type: 'eip1559',
        nonce,
        to: auth.address,
        gas: 21_000n,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      })
    const [a, b] = [await sign(5), await sign(4)]
    await l.submit(a, { opportunity: { ...opportunity('a', 1n), dependsOn: first }, headNumber: 30n })
    await l.submit(b, {
      opportunity: { ...opportunity('b', 1n), dependsOn: second, precededBy: [first] },
      headNumber: 30n,
    })
    const bodies = live.seen.map(
      (s) => (JSON.parse(s.body) as { params: [{ body: unknown[] }] }).params[0].body,
    )
    expect(bodies).toContainEqual([{ hash: first.hash }, { tx: a, canRevert: false }])
    expect(bodies).toContainEqual([{ hash: first.hash }, { hash: second.hash }, { tx: b, canRevert: false }])
    expect(bodies).toContainEqual([
      { hash: first.hash },
      { hash: second.hash },
      { tx: b, canRevert: false },
      { tx: a, canRevert: false },
    ])
    // The next head starts a new group.
    const c = await sign(6)
    live.seen.length = 0
    await l.submit(c, { opportunity: { ...opportunity('c', 1n), dependsOn: first }, headNumber: 31n })
    expect(live.seen).toHaveLength(1)
  })

  it('backruns signed while the group is on its way join its next send: two sends carry eight, not seven', async () => {
    const live = relayOf('live', ok)
    const { lane: l } = lane([live.relay], 'auction')
    const update = pendingTx(9, '0x00000000000000000000000000000000000000fe')
    const signed = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        auth.signTransaction({
          chainId: 1,
          type: 'eip1559',
          nonce: 20 + i,
          to: auth.address,
          gas: 21_000n,
          maxFeePerGas: 1n,
          maxPriorityFeePerGas: 1n,
        }),
      ),
    )
    // All eight submitted at once, as one pending update's batch is: newest nonce first.
    await Promise.all(
      [...signed].reverse().map((tx, i) =>
        l.submit(tx, {
          opportunity: { ...opportunity(`k${i}`, 1n), dependsOn: update },
          headNumber: 40n,
        }),
      ),
    )
    const bodies = live.seen.map(
      (s) => (JSON.parse(s.body) as { params: [{ body: { tx?: Hex }[] }] }).params[0].body,
    )
    const groups = bodies.filter((b) => b.filter((part) => part.tx).length > 1)
    expect(bodies.length - groups.length).toBe(8)
    expect(groups).toHaveLength(2)
    expect(groups.at(-1)).toEqual([{ hash: update.hash }, ...signed.map((tx) => ({ tx, canRevert: false }))])
  })

  it('hot wallets at the same nonce both ride the group; a re-signed transaction replaces its own', async () => {
    const live = relayOf('live', ok)
    const { lane: l } = lane([live.relay], 'auction')
    const update = pendingTx(11, '0x00000000000000000000000000000000000000fe')
    const other = privateKeyToAccount(generatePrivateKey())
    const sign = (wallet: typeof auth, nonce: number, tip = 1n) =>
      wallet.signTransaction({
        chainId: 1,
        type: 'eip1559',
        nonce,
        to: wallet.address,
        gas: 21_000n,
        maxFeePerGas: tip,
        maxPriorityFeePerGas: tip,
      })
    const mine = await sign(auth, 3)
    const theirs = await sign(other, 3)
    const submit = (tx: Hex, key: string, sender: Address) =>
      l.submit(tx, { opportunity: { ...opportunity(key, 1n), dependsOn: update }, headNumber: 50n, sender })
    await submit(mine, 'a', auth.address)
    await submit(theirs, 'b', other.address)
    const groupsOf = () =>
      live.seen
        .map((s) => (JSON.parse(s.body) as { params: [{ body: { tx?: Hex }[] }] }).params[0].body)
        .filter((b) => b.filter((part) => part.tx).length > 1)
    expect(groupsOf().at(-1)).toEqual([
      { hash: update.hash },
      { tx: mine, canRevert: false },
      { tx: theirs, canRevert: false },
    ])
    // The same wallet's nonce signed again (a higher bid) takes its place, never both.
    const again = await sign(auth, 3, 2n)
    await submit(again, 'a', auth.address)
    expect(groupsOf().at(-1)).toEqual([
      { hash: update.hash },
      { tx: again, canRevert: false },
      { tx: theirs, canRevert: false },
    ])
  })
})
