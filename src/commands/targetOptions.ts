/**
 * The flags that say which chain and deployment to work on, shared by accounts, run, record and
 * backtest: the core's own, then every strategy's (from the registry), each flag once.
 */
import type { Command } from 'commander'
import { parseBlockOption, parseIntegerOption } from '../cliUtil.js'
import type { ConfigFlags } from '../config.js'
import type { StrategyRegistry } from '../strategyModule.js'

export function addTargetOptions(command: Command, registry: StrategyRegistry): Command {
  command
    .option('--config <file>', 'JSON configuration file (see config.example.json)')
    .option(
      '--devnet <file>',
      'take the RPC, chain and deployment from a devnet file (undertow devnet --out)',
    )
    .option('--rpc-http <url>', 'HTTP RPC URL')
    .option('--rpc <url>', 'alias of --rpc-http')
    .option('--rpc-ws <url>', 'WebSocket RPC URL')
    .option('--chain-id <id>', 'expected chain id (checked against the node)', parseIntegerOption(1))
    .option('--strategy <name>', `protocol strategy (${registry.modules.map((m) => m.name).join(', ')})`)
    .option('--from-block <n>', 'first block to index positions from', parseBlockOption)
  const seen = new Set<string>()
  for (const module of registry.modules) {
    for (const flag of module.flags) {
      if (seen.has(flag.name)) continue
      seen.add(flag.name)
      if (flag.parse) command.option(flag.flags, `[${module.name}] ${flag.description}`, flag.parse)
      else command.option(flag.flags, `[${module.name}] ${flag.description}`)
    }
  }
  return command
}

export function targetFlags(options: Record<string, unknown>, registry: StrategyRegistry): ConfigFlags {
  const flags: ConfigFlags = {}
  const copy = <K extends keyof ConfigFlags>(key: K, value: unknown) => {
    if (value !== undefined) flags[key] = value as ConfigFlags[K]
  }
  copy('config', options.config)
  copy('devnet', options.devnet)
  copy('rpcHttp', options.rpcHttp ?? options.rpc)
  copy('rpcWs', options.rpcWs)
  copy('chainId', options.chainId)
  copy('strategy', options.strategy)
  copy('fromBlock', options.fromBlock)
  copy('privateKeyEnv', options.privateKeyEnv)
  copy('minProfitUsd', options.minProfitUsd)
  copy('dryRun', options.dryRun)
  copy('metricsPort', options.metricsPort)
  copy('metricsHost', options.metricsHost)
  copy('liquidator', options.liquidator)
  copy('logLevel', options.logLevel)
  copy('dataDir', options.dataDir)
  const strategyFlags: Record<string, unknown> = {}
  for (const module of registry.modules)
    for (const flag of module.flags)
      if (options[flag.name] !== undefined) strategyFlags[flag.name] = options[flag.name]
  flags.strategyFlags = strategyFlags
  return flags
}
