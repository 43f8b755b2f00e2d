/**
 * The soak: the daemon runs for `minutes` behind the fault-injecting proxy with every fault kind on,
 * while prices are shocked repeatedly (pending and confirmed updates). At the end, with the faults
 * off, the chain is the judge: the mirror verifies exact (account data and every scaled balance),
 * nothing profitable is left, no liquidation was sent twice or reverted, the head is the chain's,
 * and the heap stayed bounded. Shared by the CI test and `npm run soak -- --minutes N`.
 */
import { decodeFunctionData } from 'viem'
import { parseConfig } from '../../src/config.js'
import { startDaemon } from '../../src/daemon.js'
import { DEMO_LIQUIDATOR_KEY, sendPendingPrice, waitUntilSettled } from '../../src/demo.js'
import { createRandom } from '../../src/devnet/random.js'
import { createLogger } from '../../src/logger.js'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import { setPrice } from '../../strategies/aave-v3/devnet/index.js'
import { verifyScaledBalances } from '../../strategies/aave-v3/verifyMirror.js'
import { registry } from '../../strategies/index.js'
import { aaveStrategy, startAaveDemo } from './aave.js'
import { type ChaosFaults, startChaosProxy } from './chaosProxy.js'
import { openProfitable } from './daemonChecks.js'

export const EVERY_FAULT: ChaosFaults = {
  latencyMs: [0, 50],
  drop: 0.01,
  stall: { rate: 0.01, ms: 1_500 },
  http429: { rate: 0.15, retryAfterSeconds: 1 },
  rpcRateLimit: 0.03,
  http500: 0.02,
  http502: 0.05,
  truncated: 0.015,
  garbled: 0.015,
  ws: { latencyMs: [0, 30], cutEveryMs: 5_000, silence: { everyMs: 20_000, forMs: 6_000 } },
}

export interface SoakFigures {
  minutes: number
  faults: Record<string, number>
  shocks: number
  liquidations: number
  liquidatedAccounts: number
  duplicates: number
  reverted: number
  mismatches: number
  balanceMismatches: number
  openAfter: number
  headLag: bigint
  heapStartMb: number
  heapEndMb: number
}

export async function runSoak(options: { minutes: number; seed?: number; log?: (line: string) => void }) {
  const say = options.log ?? (() => undefined)
  const quiet = createLogger('error', { pretty: false, destination: process.stderr })
  const random = createRandom(options.seed ?? 7)
  const run = await startAaveDemo({ log: quiet, accounts: 60, seed: options.seed ?? 7 })
  const cleanups: (() => Promise<void>)[] = [() => run.stop()]
  try {
    await run.daemon.stop()
    const chaos = await startChaosProxy(
      { httpUrl: run.devnet.rpcUrl, wsUrl: run.devnet.wsUrl },
      EVERY_FAULT,
      options.seed ?? 7,
    )
    cleanups.unshift(() => chaos.close())
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const config = parseConfig(
      {
        devnet: run.devnetFile,
        rpcHttp: chaos.httpUrl,
        rpcWs: chaos.wsUrl,
        dataDir: `${run.dataDir}-soak`,
        minProfitUsd: run.minProfitUsd,
        blockTimeSeconds: 1,
      },
      env,
      registry,
    )
    const daemon = await startDaemon(config, env, quiet)
    cleanups.unshift(() => daemon.stop(5_000))
    const startBlock = daemon.strategy.head.number
    global.gc?.()
    const heapStart = process.memoryUsage().heapUsed
    say(`soak: daemon up at block ${startBlock}, faults on for ${options.minutes} min`)

    // Shocks: every ~12 s one asset moves 6–14% down (three in four) or back up a little, pending or
    // confirmed; the first is a 20% ETH drop so that liquidations start at once.
    const prices: Record<string, number> = { WETH: 2000, WBTC: 40000, LINK: 15, wstETH: 2300, DAI: 1 }
    const symbols = ['WETH', 'WBTC', 'LINK', 'wstETH', 'DAI'] as const
    const deadline = Date.now() + options.minutes * 60_000
    let shocks = 0
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, shocks === 0 ? 3_000 : 8_000 + random() * 8_000))
      const symbol =
        shocks === 0 ? 'WETH' : (symbols[Math.floor(random() * symbols.length)] as (typeof symbols)[number])
      const down = shocks === 0 || random() < 0.75
      const step = shocks === 0 ? 0.2 : (symbol === 'DAI' ? 0.02 : 0.06) + random() * 0.08
      prices[symbol] = (prices[symbol] as number) * (down ? 1 - step : 1 + step / 2)
      const price = (prices[symbol] as number).toFixed(symbol === 'DAI' ? 4 : 2)
      // wstETH moves through its silent rate, which has no pending form.
      if (random() < 0.5 && symbol !== 'wstETH') await sendPendingPrice(run, symbol, price)
      else await setPrice(run.devnet, symbol, price, run.devnet.client)
      shocks++
      say(`soak: ${symbol} → ${price} (${shocks} shocks, ${daemon.executor.records.length} liquidations)`)
    }

    // The judge: faults off, let it settle, then read the chain.
    chaos.set({})
    const settled = await waitUntilSettled({ ...run, daemon }, 120_000)
    // The head: the daemon must reach the chain's (blocks keep coming every second).
    const head = await run.devnet.client.getBlockNumber()
    for (let i = 0; i < 100 && daemon.strategy.head.number < head; i++)
      await new Promise((resolve) => setTimeout(resolve, 100))
    const market = aaveStrategy(daemon).market()
    const verified = await daemon.strategy.verify()
    const balances = await verifyScaledBalances(run.devnet.client, market, {
      multicallAddress: run.devnet.addresses.batchReader,
    })
    // Every transaction the liquidator landed, from the chain: none reverted, no account twice in a block.
    const seen = new Set<string>()
    let duplicates = 0
    let reverted = 0
    for (let n = startBlock; n <= head; n++) {
      const block = await run.devnet.client.getBlock({ blockNumber: n, includeTransactions: true })
      for (const tx of block.transactions) {
        if (tx.from.toLowerCase() !== run.liquidator.toLowerCase()) continue
        const receipt = await run.devnet.client.getTransactionReceipt({ hash: tx.hash })
        if (receipt.status !== 'success') reverted++
        if (tx.to?.toLowerCase() !== run.devnet.addresses.pool.toLowerCase()) continue
        const call = decodeFunctionData({ abi: poolAbi, data: tx.input })
        if (call.functionName !== 'liquidationCall') continue
        const key = `${n}:${String(call.args[2]).toLowerCase()}`
        if (seen.has(key)) duplicates++
        seen.add(key)
      }
    }
    global.gc?.()
    const figures: SoakFigures = {
      minutes: options.minutes,
      faults: { ...chaos.stats },
      shocks,
      liquidations: daemon.executor.records.length,
      liquidatedAccounts: new Set(daemon.executor.records.map((r) => r.account.toLowerCase())).size,
      duplicates,
      reverted,
      mismatches: verified.mismatches.length,
      balanceMismatches: balances.mismatches.length,
      openAfter: settled ? 0 : openProfitable(daemon, run.minProfitUsd).length,
      headLag: daemon.strategy.head.number >= head ? 0n : head - daemon.strategy.head.number,
      heapStartMb: Math.round(heapStart / 2 ** 20),
      heapEndMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    }
    return figures
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined)
  }
}

export function formatSoak(f: SoakFigures): string {
  const faults = Object.entries(f.faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  return [
    `soak ${f.minutes} min: faults injected: ${faults}`,
    `  ${f.shocks} price shocks; ${f.liquidations} liquidations of ${f.liquidatedAccounts} accounts; open profitable after: ${f.openAfter}`,
    `  duplicates ${f.duplicates}, reverted ${f.reverted}; mirror mismatches ${f.mismatches}, scaled-balance mismatches ${f.balanceMismatches}; head lag ${f.headLag}`,
    `  heap ${f.heapStartMb} MB → ${f.heapEndMb} MB`,
  ].join('\n')
}
