/**
 * `undertow demo` (npm run demo): the keeper end to end on an embedded devnet. 50 seeded accounts,
 * the daemon running, a price shock sent as pending oracle transactions while blocks are mined every
 * second; the daemon backruns the updates and liquidates every profitable underwater account.
 */
import type { Command } from 'commander'
import { formatUnits, getAddress } from 'viem'
import { sendPendingPrice, startDemo, waitUntilSettled } from '../demo.js'
import { FatalError } from '../errors.js'
import { formatHealthFactor, formatUnitsFixed, renderTable } from '../format.js'
import type { StrategyRegistry } from '../strategyModule.js'

const WAD = 10n ** 18n

export function registerDemoCommand(program: Command, registry: StrategyRegistry): void {
  program
    .command('demo')
    .description(
      'run Undertow end to end on an embedded devnet (50 accounts, a pending price shock, liquidations)',
    )
    .option('--protocol <name>', 'run only this protocol (default: every protocol with a devnet, in turn)')
    .action(async (options: { protocol?: string }) => {
      const protocols = options.protocol
        ? [registry.find(options.protocol, 'protocol').name]
        : registry.modules.filter((m) => m.devnet).map((m) => m.name)
      for (const protocol of protocols) await demoOne(registry, protocol)
    })
}

async function demoOne(registry: StrategyRegistry, protocol: string): Promise<void> {
  const started = Date.now()
  console.log(`\n== ${protocol} ==`)
  const run = await startDemo(registry, { protocol })
  try {
    const { devnet, daemon } = run
    const strategy = daemon.strategy
    const decimals = strategy.baseDecimals
    console.log(
      `devnet ${devnet.rpcUrl}: ${strategy.describe()}, ${devnet.accounts.length} accounts, blocks every 1 s`,
    )
    console.log(`daemon: mirror of ${strategy.accountCount()} accounts, liquidator ${run.liquidator}`)
    const shock = run.provider.demoShock
    const offchain = run.provider.demoShockVia === 'offchain'
    console.log(
      `price shock, ${offchain ? 'off-chain in the price service (the pusher lands it later)' : 'sent to the mempool'}: ${shock.map(([s, p]) => `${s} → ${p}`).join(', ')}`,
    )
    const oracleHashes: `0x${string}`[] = []
    for (const [symbol, price] of shock)
      if (offchain) await run.provider.setPrice(devnet.client, devnet, symbol, price)
      else oracleHashes.push(await sendPendingPrice(run, symbol, price))
    const settled = await waitUntilSettled(run)
    if (!settled) throw new FatalError('demo did not settle within 90 s')
    const oracleBlocks = await Promise.all(
      oracleHashes.map((hash) => devnet.client.getTransactionReceipt({ hash }).then((r) => r.blockNumber)),
    )
    const records = daemon.executor.records
    const nativePrice = strategy.nativePriceBase()
    let totalProfitBase = 0n
    const rows = records.map((r) => {
      const gasBase = (r.gasUsed * r.effectiveGasPrice * nativePrice) / WAD
      const profit = r.event.valueBase - gasBase
      totalProfitBase += profit
      return [
        getAddress(r.account),
        r.event.summary,
        formatUnitsFixed(profit, decimals),
        (r.submittedAt - r.detectedAt).toFixed(1),
        `${r.blockNumber}${r.predicted ? ' (backrun)' : ''}`,
      ]
    })
    console.log(
      renderTable(
        [
          'account',
          'liquidation',
          'net profit USD',
          `${offchain ? 'stream' : 'detect'}→signed tx ms`,
          'block',
        ],
        rows,
        [false, false, true, true, false],
      ),
    )
    const accountsLiquidated = new Set(records.map((r) => r.account.toLowerCase())).size
    const backruns = records.filter((r) => r.predicted && oracleBlocks.includes(r.blockNumber)).length
    console.log(
      `${records.length} liquidations of ${accountsLiquidated} accounts, net profit ${formatUnits(totalProfitBase, decimals)} USD` +
        (offchain
          ? `; ${records.filter((r) => r.opportunity.call.value > 0n).length} carried their own price update`
          : `; ${backruns} landed in the same block as the oracle update they followed (oracle blocks ${[...new Set(oracleBlocks)].join(', ')})`),
    )
    // The mirror is checked against the chain first, so its health figures are the chain's.
    const check = await strategy.verify()
    const under = strategy
      .healthFactors(strategy.head.timestamp)
      .filter((hf) => hf < WAD)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    console.log(
      `accounts still below their liquidation threshold: ${under.length}${under.length ? ` (lowest health ${formatHealthFactor(under[0] ?? 0n)}; below the ${run.minProfitUsd} USD minimum profit)` : ''}`,
    )
    console.log(
      `mirror check: ${check.checked} accounts, ${check.mismatches.length} mismatches with the protocol's own view; done in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    )
    if (check.mismatches.length > 0) throw new FatalError('the mirror disagrees with the chain')
    if (records.length === 0 || totalProfitBase < 0n)
      throw new FatalError('the demo liquidated nothing profitable')
  } finally {
    await run.stop()
  }
}
