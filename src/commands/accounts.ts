/** `undertow accounts`: build the mirror from logs and print every account by health; --verify checks it. */
import type { Command } from 'commander'
import { connectHttp } from '../chain/connect.js'
import { parseConfig } from '../config.js'
import { FatalError } from '../errors.js'
import { renderTable } from '../format.js'
import { createLogger } from '../logger.js'
import type { StrategyRegistry } from '../strategyModule.js'
import { addTargetOptions, targetFlags } from './targetOptions.js'

export function registerAccountsCommand(
  program: Command,
  registry: StrategyRegistry,
  env: Record<string, string | undefined>,
): void {
  addTargetOptions(
    program
      .command('accounts')
      .description('build the health mirror from logs and list every account by health'),
    registry,
  )
    .option('--json', 'one JSON object per account (raw units as decimal strings)')
    .option('--verify', "compare every account with the protocol's own view; exit 1 on any mismatch")
    .action(async (options: Record<string, unknown>) => {
      const config = parseConfig(targetFlags(options, registry), env, registry)
      const { client } = await connectHttp(config.rpcHttp, config.chainId)
      const strategy = await config.module.create(
        { client, log: createLogger('silent') },
        config.target.options,
        {
          fromBlock: config.target.fromBlock,
        },
      )
      const table = strategy.accountTable()
      if (options.json) {
        process.stdout.write(`${JSON.stringify(table.json, null, 2)}\n`)
      } else {
        console.log(renderTable(table.headers, table.rows, table.align))
        console.log(table.footer)
      }
      if (options.verify) {
        const result = await strategy.verify()
        for (const m of result.mismatches.slice(0, 20))
          process.stderr.write(`mismatch ${m.account} ${m.field}: mirror ${m.mirror}, chain ${m.chain}\n`)
        if (result.mismatches.length > 0)
          throw new FatalError(
            `${result.mismatches.length} mismatches across ${result.checked} accounts at block ${result.blockNumber}`,
          )
        process.stderr.write(
          `verified ${result.checked} accounts at block ${result.blockNumber}: 0 mismatches\n`,
        )
      }
    })
}
