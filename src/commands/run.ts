/** `undertow run`: the keeper daemon, until SIGINT/SIGTERM; then it drains and exits 0. */
import type { Command } from 'commander'
import { parseAddressOption, parseIntegerOption } from '../cliUtil.js'
import { parseConfig } from '../config.js'
import { startDaemon } from '../daemon.js'
import { createLogger } from '../logger.js'
import type { StrategyRegistry } from '../strategyModule.js'
import { addTargetOptions, targetFlags } from './targetOptions.js'

export function registerRunCommand(
  program: Command,
  registry: StrategyRegistry,
  env: Record<string, string | undefined>,
  waitForSignal: () => Promise<void>,
): void {
  addTargetOptions(program.command('run').description('run the liquidation keeper daemon'), registry)
    .option(
      '--private-key-env <name>',
      'environment variable holding the liquidator key (default UNDERTOW_PRIVATE_KEY)',
    )
    .option('--min-profit-usd <usd>', 'refuse liquidations netting less than this (USD)')
    .option('--dry-run', 'simulate and log every liquidation it would send; never sign or send')
    .option(
      '--liquidator <address>',
      'with --dry-run and no key: simulate from this address (default: an address holding nothing)',
      parseAddressOption,
    )
    .option(
      '--metrics-port <port>',
      'serve /metrics and /healthz on this port',
      parseIntegerOption(0, 65_535),
    )
    .option('--metrics-host <host>', 'interface for /metrics and /healthz (default 127.0.0.1)')
    .option('--log-level <level>', 'trace | debug | info | warn | error')
    .option('--data-dir <dir>', 'where the mirror snapshot is kept (default ./data)')
    .action(async (options: Record<string, unknown>) => {
      const config = parseConfig(targetFlags(options, registry), env, registry)
      const log = createLogger(config.logLevel)
      const daemon = await startDaemon(config, env, log)
      await waitForSignal()
      log.info('shutting down: no new work, waiting for in-flight transactions')
      await daemon.stop()
      log.info('stopped')
    })
}
