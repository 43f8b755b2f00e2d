/**
 * Reference competitors for `npm run race`: three simple liquidation bots of the kinds Undertow
 * meets on a real chain, written the way a first public bot is. They share nothing with the daemon
 * but the chain and the builder's public API.
 *
 * - poller: reads every borrower's getUserAccountData each block and liquidates what is under 1,
 *   in the public mempool with a fixed tip;
 * - speculator: watches the mempool for oracle updates and, for every borrower near the threshold,
 *   fires a liquidation at the update's fee cap (tip = cap) without simulating;
 * - bundle bidder: reads every borrower each block like the poller and sends what is under 1 as one
 *   eth_sendBundle for the next two blocks, paying a high tip.
 */
import {
  type Address,
  createPublicClient,
  encodeFunctionData,
  type Hex,
  keccak256,
  maxUint256,
  type PrivateKeyAccount,
  type PublicClient,
  parseGwei,
  webSocket,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { createRelayClient } from '../../src/executor/relayClient.js'
import { erc20Abi, poolAbi } from '../../strategies/aave-v3/abi.js'

export type CompetitorKind = 'poller' | 'speculator' | 'bundle bidder'

/** One liquidation a competitor signed: settled against the chain after the race. */
export interface Attempt {
  account: Address
  hash: Hex
  /** The head it was sent at. */
  sentAt: bigint
}

export interface Competitor {
  kind: CompetitorKind
  address: Address
  attempts: Attempt[]
  stop(): Promise<void>
}

export interface RaceMarket {
  chainId: number
  pool: Address
  collateral: Address
  debt: Address
  /** The aggregators whose pending updates the speculator reacts to. */
  aggregators: Address[]
  borrowers: Address[]
  builderUrl: string
  wsUrl: string
}

const HF_ONE = 10n ** 18n
/** The speculator fires for every borrower whose health factor is under this at the last block. */
const SPECULATE_BELOW = (108n * HF_ONE) / 100n
const GAS = 900_000n

function liquidationData(market: RaceMarket, user: Address): Hex {
  return encodeFunctionData({
    abi: poolAbi,
    functionName: 'liquidationCall',
    args: [market.collateral, market.debt, user, maxUint256, false],
  })
}

async function healthFactors(client: PublicClient, market: RaceMarket, block: bigint) {
  const out = new Map<Address, bigint>()
  await Promise.all(
    market.borrowers.map(async (b) => {
      const data = await client.readContract({
        address: market.pool,
        abi: poolAbi,
        functionName: 'getUserAccountData',
        args: [b],
        blockNumber: block,
      })
      out.set(b, data[5])
    }),
  )
  return out
}

/**
 * A signer with its own nonce (sends one at a time; a rejected send gives its nonce back), and the
 * approval every bot needs before it can repay debt.
 */
async function startSigner(client: PublicClient, market: RaceMarket, fund: (a: Address) => Promise<void>) {
  const account: PrivateKeyAccount = privateKeyToAccount(generatePrivateKey())
  await fund(account.address)
  const sign = (to: Address, data: Hex, maxFeePerGas: bigint, maxPriorityFeePerGas: bigint, nonce: number) =>
    account.signTransaction({
      chainId: market.chainId,
      type: 'eip1559',
      nonce,
      to,
      data,
      gas: GAS,
      maxFeePerGas,
      maxPriorityFeePerGas,
    })
  let nonce = await client.getTransactionCount({ address: account.address, blockTag: 'pending' })
  let queue: Promise<unknown> = Promise.resolve()
  const send = (to: Address, data: Hex, maxFeePerGas: bigint, tip: bigint): Promise<Hex> => {
    const sent = queue.then(async () => {
      const raw = await sign(to, data, maxFeePerGas, tip, nonce)
      try {
        const hash = await client.sendRawTransaction({ serializedTransaction: raw })
        nonce++
        return hash
      } catch (error) {
        nonce = await client.getTransactionCount({ address: account.address, blockTag: 'pending' })
        throw error
      }
    })
    queue = sent.catch(() => undefined)
    return sent
  }
  const base = (await client.getBlock()).baseFeePerGas ?? 0n
  const hash = await send(
    market.debt,
    encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [market.pool, maxUint256] }),
    base * 3n + parseGwei('2'),
    parseGwei('2'),
  )
  await client.waitForTransactionReceipt({ hash, timeout: 60_000 })
  return { account, sign, send }
}

/** Calls `onHead` for every new block, one at a time (a slow read skips no block: it queues). */
function everyHead(client: PublicClient, onHead: (block: bigint, baseFee: bigint) => Promise<void>) {
  let last = -1n
  let running = Promise.resolve()
  const unwatch = client.watchBlocks({
    pollingInterval: 100,
    onBlock: (block) => {
      if (block.number === null || block.number <= last) return
      last = block.number
      const number = block.number
      const baseFee = block.baseFeePerGas ?? 0n
      running = running.then(() => onHead(number, baseFee)).catch(() => undefined)
    },
  })
  return async () => {
    unwatch()
    await running
  }
}

export async function startPoller(
  client: PublicClient,
  market: RaceMarket,
  fund: (a: Address) => Promise<void>,
): Promise<Competitor> {
  const { account, send } = await startSigner(client, market, fund)
  const attempts: Attempt[] = []
  const lastTry = new Map<Address, bigint>()
  const tip = parseGwei('2')
  const stop = everyHead(client, async (block, baseFee) => {
    for (const [user, hf] of await healthFactors(client, market, block)) {
      if (hf >= HF_ONE || block - (lastTry.get(user) ?? -10n) < 3n) continue
      lastTry.set(user, block)
      const hash = await send(market.pool, liquidationData(market, user), baseFee * 2n + tip, tip).catch(
        () => undefined,
      )
      if (hash) attempts.push({ account: user, hash, sentAt: block })
    }
  })
  return { kind: 'poller', address: account.address, attempts, stop }
}

export async function startSpeculator(
  client: PublicClient,
  market: RaceMarket,
  fund: (a: Address) => Promise<void>,
): Promise<Competitor> {
  const { account, send } = await startSigner(client, market, fund)
  const attempts: Attempt[] = []
  let health = new Map<Address, bigint>()
  let head = 0n
  const stopHeads = everyHead(client, async (block) => {
    health = await healthFactors(client, market, block)
    head = block
  })
  const feeds = new Set(market.aggregators.map((a) => a.toLowerCase()))
  const ws = createPublicClient({ transport: webSocket(market.wsUrl) })
  const seen = new Set<Hex>()
  const { unsubscribe } = await ws.transport.subscribe({
    params: ['newPendingTransactions', true] as never,
    onData: (data: unknown) => {
      const tx = (data as { result?: { hash: Hex; to?: Address | null; maxFeePerGas?: Hex } }).result
      if (!tx?.to || !feeds.has(tx.to.toLowerCase()) || seen.has(tx.hash) || !tx.maxFeePerGas) return
      seen.add(tx.hash)
      const cap = BigInt(tx.maxFeePerGas)
      void (async () => {
        for (const [user, hf] of health) {
          if (hf >= SPECULATE_BELOW) continue
          try {
            const hash = await send(market.pool, liquidationData(market, user), cap, cap)
            attempts.push({ account: user, hash, sentAt: head })
          } catch {
            // A rejected send (fee too low for the pool) is a lost race like any other.
          }
        }
      })()
    },
  })
  return {
    kind: 'speculator',
    address: account.address,
    attempts,
    async stop() {
      await unsubscribe()
      await stopHeads()
      await ws.transport.getRpcClient().then((c) => c.close())
    },
  }
}

export async function startBundleBidder(
  client: PublicClient,
  market: RaceMarket,
  fund: (a: Address) => Promise<void>,
): Promise<Competitor> {
  const { account, sign } = await startSigner(client, market, fund)
  const relay = createRelayClient(
    { name: 'devnet', url: market.builderUrl, callBundle: false },
    privateKeyToAccount(generatePrivateKey()),
  )
  const attempts: Attempt[] = []
  // 50 gwei × ~400k gas: $40 at $2000/ETH, a large share of a $15k position's bonus.
  const tip = parseGwei('50')
  const stop = everyHead(client, async (block, baseFee) => {
    const under = [...(await healthFactors(client, market, block))].filter(([, hf]) => hf < HF_ONE)
    if (under.length === 0) return
    // Nonces from the chain: a bundle that was not included used none.
    const start = await client.getTransactionCount({ address: account.address, blockNumber: block })
    const txs: Hex[] = []
    for (const [i, [user]] of under.entries()) {
      const raw = await sign(market.pool, liquidationData(market, user), baseFee * 3n + tip, tip, start + i)
      txs.push(raw)
      // The same transaction re-signed at the next head has the same hash (deterministic signatures).
      const hash = keccak256(raw)
      if (!attempts.some((a) => a.hash === hash)) attempts.push({ account: user, hash, sentAt: block })
    }
    await Promise.all([relay.sendBundle(txs, block + 1n), relay.sendBundle(txs, block + 2n)]).catch(
      () => undefined,
    )
  })
  return { kind: 'bundle bidder', address: account.address, attempts, stop }
}
