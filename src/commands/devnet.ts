/**
 * `undertow devnet` and its subcommands: start a chain hosting a protocol's deployment (its
 * module's devnet provider), move prices, move time, fund a bot. The protocol comes from
 * --protocol (default: the registry's default) or, for the subcommands, from the devnet file.
 */
import { writeFileSync } from 'node:fs'
import { type Command, InvalidArgumentError } from 'commander'
import type { Address } from 'viem'
import { httpClient } from '../chain/rpc.js'
import { parseAddressOption, parseIntegerOption, parseNumberOption } from '../cliUtil.js'
import { devnetInfo, readDevnetFile } from '../devnet/devnetFile.js'
import { startDevnet, warp } from '../devnet/startDevnet.js'
import { UsageError } from '../errors.js'
import type { DevnetProvider, StrategyRegistry } from '../strategyModule.js'

export function parseChoice(choices: readonly string[]) {
  return (value: string): string => {
    if (!choices.includes(value))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}"`)
    return value
  }
}

function providerOf(registry: StrategyRegistry, name: string): { name: string; devnet: DevnetProvider } {
  const module = registry.find(name, 'protocol')
  if (!module.devnet) throw new UsageError(`protocol ${name} has no devnet deployment`)
  return { name: module.name, devnet: module.devnet }
}

/** The provider of the protocol a devnet file describes. */
function fileProvider(registry: StrategyRegistry, path: string, rpc?: string) {
  const info = readDevnetFile(path)
  if (rpc) info.rpcUrl = rpc
  const { devnet } = providerOf(registry, info.protocol ?? registry.defaultName)
  return { info, devnet, client: httpClient(info.rpcUrl, info.chainId) }
}

export function registerDevnetCommand(
  program: Command,
  registry: StrategyRegistry,
  waitForSignal: () => Promise<void>,
): void {
  const devnet = program
    .command('devnet')
    .description('start anvil with a real protocol deployment and seeded accounts; runs until Ctrl-C')
    .option(
      '--protocol <name>',
      `protocol to deploy (${registry.modules
        .filter((m) => m.devnet)
        .map((m) => m.name)
        .join(', ')}; default ${registry.defaultName})`,
    )
    .option('--accounts <n>', 'accounts to seed', parseIntegerOption(0, 5000), 50)
    .option('--seed <s>', 'seed for the accounts’ portfolios', parseIntegerOption(0, 2 ** 31), 1)
    .option('--out <file>', 'write the devnet description (RPC, addresses, accounts) to this file')
    .option(
      '--block-time <seconds>',
      'interval mining in seconds (default: automine)',
      parseNumberOption(0.05),
    )
    .option(
      '--builder',
      'a local block builder: mining off, blocks built every --block-time (default 1 s) from public transactions and bundles (eth_sendBundle, mev_sendBundle) by bid',
    )
    .option(
      '--op-stack',
      'an OP-stack chain: anvil --network optimism and a GasPriceOracle predeploy (L1 data fee)',
    )
    .option(
      '--l1-base-fee-gwei <gwei>',
      'with --op-stack: the L1 base fee the data fee is priced at (default 20)',
    )
  const protocolOptions = new Set<string>()
  for (const module of registry.modules) {
    for (const option of module.devnet?.options ?? []) {
      if (protocolOptions.has(option.name)) continue
      protocolOptions.add(option.name)
      const description = `[${module.name}] ${option.description}${option.default ? ` (default ${option.default})` : ''}`
      if (option.choices) devnet.option(option.flags, description, parseChoice(option.choices))
      else devnet.option(option.flags, description)
    }
  }
  const parseGwei = (value: unknown): string => {
    if (value === undefined) return '20'
    if (typeof value !== 'string' || !/^\d+(\.\d+)?$/.test(value))
      throw new UsageError(`--l1-base-fee-gwei: expected a non-negative number, got "${String(value)}"`)
    return value
  }
  devnet.action(async (options: Record<string, unknown>) => {
    const started = Date.now()
    const protocol = providerOf(registry, (options.protocol as string | undefined) ?? registry.defaultName)
    const own: Record<string, string> = {}
    for (const option of protocol.devnet.options)
      if (typeof options[option.name] === 'string') own[option.name] = options[option.name] as string
    const net = await startDevnet(protocol, {
      accounts: options.accounts as number,
      seed: options.seed as number,
      options: own,
      ...(options.blockTime !== undefined ? { blockTimeSeconds: options.blockTime as number } : {}),
      ...(options.builder ? { builder: true } : {}),
      ...(options.opStack || options.l1BaseFeeGwei !== undefined
        ? { opStack: { l1BaseFeeGwei: parseGwei(options.l1BaseFeeGwei) } }
        : {}),
    })
    try {
      const out = options.out as string | undefined
      if (out) writeFileSync(out, JSON.stringify(devnetInfo(net), null, 2))
      console.log(
        `devnet ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${net.summary} at ${net.rpcUrl} (chain ${net.chainId}), ` +
          `${net.accounts.length} accounts${net.builder ? `, block builder at ${net.builder.rpcUrl}` : ''}${out ? `, written to ${out}` : ''}`,
      )
      console.log('press Ctrl-C to stop')
      await waitForSignal()
    } finally {
      await net.stop()
    }
  })

  devnet
    .command('price')
    .description('move an asset’s oracle price with a transaction')
    .requiredOption('--devnet <file>', 'devnet description written by undertow devnet --out')
    .option('--rpc <url>', 'RPC URL (default: the one in the devnet file)')
    .option('--push', 'pull oracles: also land the new price on chain now (else only the pusher does, later)')
    .argument('<symbol>', 'asset or market symbol, e.g. WETH')
    .argument('<price>', 'new price in USD, e.g. 1850.25')
    .action(
      async (symbol: string, price: string, options: { devnet: string; rpc?: string; push?: boolean }) => {
        const { info, devnet: provider, client } = fileProvider(registry, options.devnet, options.rpc)
        const moved = await provider.setPrice(client, info, symbol, price, { push: options.push === true })
        console.log(
          `${symbol} = ${moved.readBack}${moved.blockNumber !== undefined ? ` in block ${moved.blockNumber}` : ''}`,
        )
      },
    )

  devnet
    .command('warp')
    .description('advance chain time and mine a block')
    .requiredOption('--devnet <file>', 'devnet description written by undertow devnet --out')
    .requiredOption('--seconds <n>', 'seconds to advance', parseIntegerOption(1))
    .option('--rpc <url>', 'RPC URL (default: the one in the devnet file)')
    .action(async (options: { devnet: string; seconds: number; rpc?: string }) => {
      const info = readDevnetFile(options.devnet)
      if (options.rpc) info.rpcUrl = options.rpc
      await warp(info, options.seconds)
      console.log(`advanced ${options.seconds} s`)
    })

  devnet
    .command('fund')
    .description('give an address gas and a large balance of every asset it may need')
    .requiredOption('--devnet <file>', 'devnet description written by undertow devnet --out')
    .option('--rpc <url>', 'RPC URL (default: the one in the devnet file)')
    .argument('<address>', 'address to fund', parseAddressOption)
    .action(async (address: Address, options: { devnet: string; rpc?: string }) => {
      const { info, devnet: provider, client } = fileProvider(registry, options.devnet, options.rpc)
      const given = await provider.fund(client, info, address)
      console.log(`funded ${address} with ${given}`)
    })
}
