/**
 * `npm run race`: Undertow against the reference competitors (bench/race/competitors.ts) — a
 * per-block poller, a speculative mempool backrunner and a bundle bidder, all at once — on the
 * devnet with its block builder (1-second blocks), in two configurations: Undertow in the public
 * mempool, and Undertow sending bundles. Each round a pending oracle update opens a batch of
 * liquidations; every LiquidationCall on the chain is credited to its liquidator, and every
 * competitor transaction that did not win is told why, from its receipt.
 *
 *   npm run race [-- --config public|builder] [--rounds N]
 *
 * Exits 1 when a configuration has fewer than 50 liquidations or Undertow wins under 95% of them.
 */
import { type Address, getAddress, type Hex, type PublicClient, parseUnits } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEMO_LIQUIDATOR_KEY, type DemoRun, sendPendingPrice, startDemo } from '../src/demo.js'
import { createLogger } from '../src/logger.js'
import { poolAbi } from '../strategies/aave-v3/abi.js'
import type { DevnetAddresses } from '../strategies/aave-v3/devnet/deployAaveMarket.js'
import { fundAccount } from '../strategies/aave-v3/devnet/index.js'
import { executePlan, seededAccount } from '../strategies/aave-v3/devnet/seedAccounts.js'
import { registry } from '../strategies/index.js'
import {
  type Competitor,
  type RaceMarket,
  startBundleBidder,
  startPoller,
  startSpeculator,
} from './race/competitors.js'
import { classifyAttempts, type LandedLiquidation, type Loss } from './race/score.js'

const CONFIGS = {
  public: { label: 'public mempool', lane: 'public', backrunLane: 'public' },
  builder: { label: 'bundles to the builder', lane: 'bundle', backrunLane: 'bundle' },
} as const
type ConfigName = keyof typeof CONFIGS

const PER_ROUND = 6
const MIN_LIQUIDATIONS = 50
const MIN_WIN_SHARE = 0.95

function usage(message: string): never {
  process.stderr.write(`race: ${message}\n`)
  process.exit(2)
}

function parseArgs(argv: string[]): { configs: ConfigName[]; rounds: number } {
  let configs: ConfigName[] = ['public', 'builder']
  let rounds = 10
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (flag === '--config') {
      if (value !== 'public' && value !== 'builder')
        usage(`--config must be public or builder, not "${value}"`)
      configs = [value]
      i++
    } else if (flag === '--rounds') {
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1 || n > 30)
        usage(`--rounds must be a whole number from 1 to 30, not "${value}"`)
      rounds = n
      i++
    } else usage(`unknown argument "${flag}" (use --config public|builder, --rounds N)`)
  }
  return { configs, rounds }
}

/** Round k's borrowers: 10 WETH against USDC debt liquidatable below 1900 − 50k − 2j USD per WETH. */
const threshold = (k: number, j: number) => 1900 - 50 * k - 2 * j
const roundPrice = (k: number) => (threshold(k, PER_ROUND - 1) - 3).toFixed(2)

/** Waits for a promise at most `ms` (a competitor's socket that will not close is left behind). */
const within = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms))])

async function waitForBlocks(client: PublicClient, count: number) {
  const target = (await client.getBlockNumber({ cacheTime: 0 })) + BigInt(count)
  while ((await client.getBlockNumber({ cacheTime: 0 })) < target)
    await new Promise((r) => setTimeout(r, 100))
}

/** Blocks until no borrower is liquidatable for two heads in a row (at most `maxBlocks`). */
async function waitUntilNoneUnder(client: PublicClient, market: RaceMarket, maxBlocks: number) {
  let quiet = 0
  let last = await client.getBlockNumber({ cacheTime: 0 })
  const end = last + BigInt(maxBlocks)
  while (last < end && quiet < 2) {
    await new Promise((r) => setTimeout(r, 100))
    const head = await client.getBlockNumber({ cacheTime: 0 })
    if (head === last) continue
    last = head
    const hfs = await Promise.all(
      market.borrowers.map((b) =>
        client.readContract({
          address: market.pool,
          abi: poolAbi,
          functionName: 'getUserAccountData',
          args: [b],
        }),
      ),
    )
    quiet = hfs.every((d) => d[5] >= 10n ** 18n) ? quiet + 1 : 0
  }
}

interface RaceResult {
  config: ConfigName
  liquidations: LandedLiquidation[]
  undertowWins: number
  competitors: { kind: string; won: number; losses: Map<Loss, number> }[]
}

async function raceOnce(config: ConfigName, rounds: number): Promise<RaceResult> {
  const seed = 5151
  const borrowers = Array.from({ length: rounds * PER_ROUND }, (_, j) => seededAccount(seed, j))
  const run: DemoRun = await startDemo(registry, {
    protocol: 'aave-v3',
    accounts: 0,
    blockTimeSeconds: 1,
    minProfitUsd: '5',
    log: createLogger(process.env.RACE_LOG_LEVEL === 'info' ? 'info' : 'error', {
      pretty: false,
      destination: process.stderr,
    }),
    // No eth_callBundle pre-check: the executor has simulated already, and on a 1-second chain a
    // round trip per bundle of a 14-backrun batch cost the block (the race's builder runs found it).
    builder: { lane: CONFIGS[config].lane, backrunLane: CONFIGS[config].backrunLane, callBundle: false },
    async prepare(client, raw) {
      const addresses = raw as unknown as DevnetAddresses
      await client.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
      const plans = borrowers.map((address, j) => ({
        address,
        profile: 'cross' as const,
        eMode: 0,
        supplies: [{ symbol: 'WETH', amount: parseUnits('10', 18) }],
        borrows: [
          {
            symbol: 'USDC',
            amount: parseUnits((8.25 * threshold(Math.floor(j / PER_ROUND), j % PER_ROUND)).toFixed(6), 6),
          },
        ],
      }))
      let next = 0
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let plan = plans[next++]; plan; plan = plans[next++])
            await executePlan(client, addresses, plan)
        }),
      )
    },
  })
  const competitors: Competitor[] = []
  try {
    const { devnet } = run
    const client = devnet.client
    const addresses = devnet.addresses as unknown as DevnetAddresses
    const reserve = (symbol: string) => {
      const r = addresses.reserves[symbol]
      if (!r) throw new Error(`the devnet has no ${symbol}`)
      return r
    }
    if (!devnet.builder) throw new Error('the race needs the devnet builder')
    const market: RaceMarket = {
      chainId: devnet.chainId,
      pool: getAddress(addresses.pool),
      collateral: reserve('WETH').asset,
      debt: reserve('USDC').asset,
      aggregators: [reserve('WETH').aggregator],
      borrowers,
      builderUrl: devnet.builder.rpcUrl,
      wsUrl: devnet.wsUrl,
    }
    const fund = (a: Address) => fundAccount(devnet, a, client)
    competitors.push(
      ...(await Promise.all([
        startPoller(client, market, fund),
        startSpeculator(client, market, fund),
        startBundleBidder(client, market, fund),
      ])),
    )
    const fromBlock = await client.getBlockNumber({ cacheTime: 0 })
    // The daemon has every borrower before the first update.
    while ((run.daemon.engine.lastHead?.number ?? 0n) < fromBlock)
      await new Promise((r) => setTimeout(r, 100))
    const oracleTxs: Hex[] = []
    for (let k = 0; k < rounds; k++) {
      oracleTxs.push(await sendPendingPrice(run, 'WETH', roundPrice(k)))
      await waitUntilNoneUnder(client, market, 12)
      process.stderr.write(`race ${config}: round ${k + 1}/${rounds} at WETH ${roundPrice(k)}\n`)
    }
    await waitForBlocks(client, 3)
    await Promise.all(competitors.map((c) => within(c.stop(), 5_000)))
    process.stderr.write(`race ${config}: scoring\n`)
    const toBlock = await client.getBlockNumber({ cacheTime: 0 })
    const logs = await client.getContractEvents({
      address: market.pool,
      abi: poolAbi,
      eventName: 'LiquidationCall',
      fromBlock,
      toBlock,
    })
    const liquidations: LandedLiquidation[] = logs.map((l) => ({
      user: l.args.user as Address,
      liquidator: l.args.liquidator as Address,
      blockNumber: l.blockNumber,
      transactionIndex: l.transactionIndex,
    }))
    const undertow = privateKeyToAccount(DEMO_LIQUIDATOR_KEY).address.toLowerCase()
    const results: RaceResult['competitors'] = []
    for (const c of competitors) {
      const receipts = await Promise.all(
        c.attempts.map((a) => client.getTransactionReceipt({ hash: a.hash }).catch(() => undefined)),
      )
      // Where each round's oracle update landed, for the attempts that reverted in its block.
      const updates = await Promise.all(
        oracleTxs.map((hash) => client.getTransactionReceipt({ hash }).catch(() => undefined)),
      )
      const losses = classifyAttempts(
        c.attempts.map((a, i) => {
          const r = receipts[i]
          return {
            account: a.account,
            receipt: r
              ? { status: r.status, blockNumber: r.blockNumber, transactionIndex: r.transactionIndex }
              : undefined,
          }
        }),
        liquidations,
        updates.flatMap((u) =>
          u ? [{ blockNumber: u.blockNumber, transactionIndex: u.transactionIndex }] : [],
        ),
      )
      results.push({
        kind: c.kind,
        won: liquidations.filter((l) => l.liquidator.toLowerCase() === c.address.toLowerCase()).length,
        losses,
      })
    }
    return {
      config,
      liquidations,
      undertowWins: liquidations.filter((l) => l.liquidator.toLowerCase() === undertow).length,
      competitors: results,
    }
  } finally {
    await Promise.all(competitors.map((c) => within(c.stop(), 5_000)))
    await run.stop()
  }
}

function report(r: RaceResult): { line: string; ok: boolean } {
  const total = r.liquidations.length
  const share = total === 0 ? 0 : r.undertowWins / total
  const lines = [
    `race (${CONFIGS[r.config].label}): ${total} liquidations, Undertow won ${r.undertowWins} (${(share * 100).toFixed(1)}%)`,
  ]
  for (const c of r.competitors) {
    const why = [...c.losses].map(([reason, n]) => `${n} ${reason}`).join(', ')
    lines.push(`  ${c.kind.padEnd(14)} won ${c.won}; lost attempts: ${why || 'none sent'}`)
  }
  return { line: lines.join('\n'), ok: total >= MIN_LIQUIDATIONS && share >= MIN_WIN_SHARE }
}

const { configs, rounds } = parseArgs(process.argv.slice(2))
let ok = true
const out: string[] = []
for (const config of configs) {
  const r = report(await raceOnce(config, rounds))
  out.push(r.line)
  ok &&= r.ok
}
console.log(out.join('\n'))
if (!ok)
  console.log(
    `below the bar: every configuration needs ≥ ${MIN_LIQUIDATIONS} liquidations and Undertow winning ≥ ${MIN_WIN_SHARE * 100}%`,
  )
process.exit(ok ? 0 : 1)
