/**
 * `undertow demo` (npm run demo): the keeper end to end on an embedded devnet. 50 seeded borrowers,
 * the daemon running, a price shock sent as pending oracle transactions while blocks are mined every
 * second; the daemon backruns the updates and liquidates every profitable underwater account.
 */
import type { Command } from 'commander'
import { formatUnits, getAddress, parseUnits } from 'viem'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import { marketRules } from '../../strategies/aave-v3/math.js'
import { sendPendingPrice, startDemo, waitUntilSettled } from '../demo.js'
import { FatalError } from '../errors.js'
import { formatHealthFactor, formatUnitsFixed, renderTable } from '../format.js'

const SHOCK: [string, string][] = [
  ['WETH', '1500'],
  ['WBTC', '31000'],
  ['LINK', '11'],
  ['USDC', '0.985'],
]

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run Undertow end to end on an embedded devnet (50 borrowers, a pending price shock, liquidations)',
    )
    .action(async () => {
      const started = Date.now()
      const run = await startDemo()
      try {
        const { devnet, daemon } = run
        const market = daemon.strategy.market()
        const symbol = (asset: string) => market.reserves.get(asset.toLowerCase())?.symbol ?? asset
        const decimals = (asset: string) => market.reserves.get(asset.toLowerCase())?.decimals ?? 18
        console.log(
          `devnet ${devnet.rpcUrl}: Aave v${marketRules(daemon.strategy.market()).version} pool ${devnet.addresses.pool}, ${devnet.accounts.length} borrowers, blocks every 1 s`,
        )
        console.log(
          `daemon: mirror of ${daemon.strategy.accountCount()} accounts, liquidator ${run.liquidator}`,
        )
        console.log(`price shock, sent to the mempool: ${SHOCK.map(([s, p]) => `${s} → ${p}`).join(', ')}`)
        const oracleHashes: `0x${string}`[] = []
        for (const [symbolName, price] of SHOCK)
          oracleHashes.push(await sendPendingPrice(devnet, symbolName, price))
        const settled = await waitUntilSettled(run)
        if (!settled) throw new FatalError('demo did not settle within 90 s')
        const oracleBlocks = await Promise.all(
          oracleHashes.map((hash) =>
            devnet.client.getTransactionReceipt({ hash }).then((r) => r.blockNumber),
          ),
        )
        const records = daemon.executor.records
        const nativePrice = daemon.strategy.nativePriceBase()
        let totalProfitBase = 0n
        const rows = records.map((r) => {
          const gasBase = (r.gasUsed * r.effectiveGasPrice * nativePrice) / 10n ** 18n
          const profit =
            daemon.strategy.valueBase(r.receiveAsset, r.received) -
            daemon.strategy.valueBase(r.repayAsset, r.repaid) -
            gasBase
          totalProfitBase += profit
          return [
            getAddress(r.account),
            `${formatUnitsFixed(r.repaid, decimals(r.repayAsset), 4)} ${symbol(r.repayAsset)}`,
            `${formatUnitsFixed(r.received, decimals(r.receiveAsset), 6)} ${symbol(r.receiveAsset)}`,
            formatUnitsFixed(profit, 8),
            (r.submittedAt - r.detectedAt).toFixed(1),
            `${r.blockNumber}${r.predicted ? ' (backrun)' : ''}`,
          ]
        })
        console.log(
          renderTable(
            ['account', 'debt repaid', 'collateral received', 'net profit USD', 'detect→submit ms', 'block'],
            rows,
            [false, true, true, true, true, false],
          ),
        )
        const accountsLiquidated = new Set(records.map((r) => r.account.toLowerCase())).size
        const backruns = records.filter((r) => r.predicted && oracleBlocks.includes(r.blockNumber)).length
        console.log(
          `${records.length} liquidations of ${accountsLiquidated} accounts, net profit ${formatUnits(totalProfitBase, 8)} USD; ` +
            `${backruns} landed in the same block as the oracle update they followed (oracle blocks ${[...new Set(oracleBlocks)].join(', ')})`,
        )
        const left = await Promise.all(
          [...market.accounts.keys()].map(async (a) => {
            const data = await devnet.client.readContract({
              address: devnet.addresses.pool,
              abi: poolAbi,
              functionName: 'getUserAccountData',
              args: [a as `0x${string}`],
            })
            return data[5]
          }),
        )
        const stillUnder = left.filter((hf) => hf < 10n ** 18n)
        console.log(
          `accounts still below health factor 1: ${stillUnder.length}${stillUnder.length ? ` (lowest ${formatHealthFactor(stillUnder.sort((a, b) => (a < b ? -1 : 1))[0] ?? 0n)}; below the ${'5'} USD minimum profit)` : ''}`,
        )
        const check = await daemon.strategy.verify()
        console.log(
          `mirror check: ${check.checked} accounts, ${check.mismatches} mismatches with getUserAccountData; done in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        )
        if (check.mismatches > 0) throw new FatalError('the mirror disagrees with the chain')
        if (records.length === 0 || parseUnits('0', 8) > totalProfitBase)
          throw new FatalError('the demo liquidated nothing profitable')
      } finally {
        await run.stop()
      }
    })
}
