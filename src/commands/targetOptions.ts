/** The flags that say which chain and market to work on, shared by accounts, run and backtest. */
import type { Command } from 'commander'
import { parseBlockOption, parseIntegerOption } from '../cliUtil.js'
import type { ConfigFlags } from '../config.js'

export function addTargetOptions(command: Command): Command {
  return command
    .option('--config <file>', 'JSON configuration file (see config.example.json)')
    .option('--devnet <file>', 'take the RPC, chain and market from a devnet file (undertow devnet --out)')
    .option('--rpc-http <url>', 'HTTP RPC URL')
    .option('--rpc <url>', 'alias of --rpc-http')
    .option('--rpc-ws <url>', 'WebSocket RPC URL')
    .option('--chain-id <id>', 'expected chain id (checked against the node)', parseIntegerOption(1))
    .option('--strategy <name>', 'protocol strategy (aave-v3)')
    .option('--market <name>', 'an Aave v3 market from @aave-dao/aave-address-book (see: undertow markets)')
    .option('--addresses-provider <address>', 'the market’s PoolAddressesProvider')
    .option('--from-block <n>', 'first block to index positions from', parseBlockOption)
    .option('--multicall <address>', 'Multicall3-compatible contract for batched reads')
}

export function targetFlags(options: Record<string, unknown>): ConfigFlags {
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
  copy('addressesProvider', options.addressesProvider)
  copy('market', options.market)
  copy('fromBlock', options.fromBlock)
  copy('multicall', options.multicall)
  copy('privateKeyEnv', options.privateKeyEnv)
  copy('minProfitUsd', options.minProfitUsd)
  copy('dryRun', options.dryRun)
  copy('metricsPort', options.metricsPort)
  copy('logLevel', options.logLevel)
  copy('dataDir', options.dataDir)
  return flags
}
