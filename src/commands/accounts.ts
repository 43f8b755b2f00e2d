/** `undertow accounts`: build the mirror from logs and print every account by health; --verify checks it. */
import type { Command } from 'commander'
import { getAddress } from 'viem'
import { accountReports } from '../../strategies/aave-v3/accountReport.js'
import { buildMirror } from '../../strategies/aave-v3/buildMirror.js'
import { verifyMirror } from '../../strategies/aave-v3/verifyMirror.js'
import { connectHttp } from '../chain/connect.js'
import { parseConfig } from '../config.js'
import { FatalError } from '../errors.js'
import { formatHealthFactor, formatUnitsFixed, renderTable } from '../format.js'
import { addTargetOptions, targetFlags } from './targetOptions.js'

export function registerAccountsCommand(program: Command, env: Record<string, string | undefined>): void {
  addTargetOptions(
    program
      .command('accounts')
      .description('build the health mirror from logs and list every account by health'),
  )
    .option('--json', 'one JSON object per account (raw units as decimal strings)')
    .option('--verify', 'compare every account with Pool.getUserAccountData; exit 1 on any mismatch')
    .action(async (options: Record<string, unknown>) => {
      const config = parseConfig(targetFlags(options), env)
      const { client } = await connectHttp(config.rpcHttp, config.chainId)
      const { market } = await buildMirror(client, {
        addressesProvider: config.addressesProvider,
        multicallAddress: config.multicall,
        fromBlock: config.fromBlock,
      })
      const reports = accountReports(market)
      const symbols = new Map([...market.reserves.values()].map((r) => [r.asset, r.symbol]))
      if (options.json) {
        process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`)
      } else {
        console.log(
          renderTable(
            ['account', 'health factor', 'collateral', 'debt', 'best liquidation (repay → seize, value)'],
            reports.map((r) => [
              getAddress(r.account),
              formatHealthFactor(BigInt(r.healthFactor)),
              formatUnitsFixed(BigInt(r.totalCollateralBase), 8),
              formatUnitsFixed(BigInt(r.totalDebtBase), 8),
              r.bestLiquidation
                ? `${symbols.get(getAddress(r.bestLiquidation.debtAsset))} → ${symbols.get(getAddress(r.bestLiquidation.collateralAsset))}, ${formatUnitsFixed(BigInt(r.bestLiquidation.valueBase), 8)}`
                : '',
            ]),
            [false, true, true, true, false],
          ),
        )
        console.log(`${reports.length} accounts at block ${market.block.number}`)
      }
      if (options.verify) {
        const result = await verifyMirror(client, market, { multicallAddress: config.multicall })
        for (const m of result.mismatches.slice(0, 20)) {
          process.stderr.write(`mismatch ${m.account} ${m.field}: mirror ${m.mirror}, chain ${m.chain}\n`)
        }
        if (result.mismatches.length > 0) {
          throw new FatalError(
            `${result.mismatches.length} mismatches across ${result.checked} accounts at block ${result.blockNumber}`,
          )
        }
        process.stderr.write(
          `verified ${result.checked} accounts at block ${result.blockNumber}: 0 mismatches\n`,
        )
      }
    })
}
