/** `undertow devnet` and its subcommands: start a market, move prices, move time, fund a bot. */
import { writeFileSync } from 'node:fs'
import { type Command, InvalidArgumentError } from 'commander'
import { type Address, formatUnits } from 'viem'
import { aggregatorAbi } from '../../strategies/aave-v3/abi.js'
import { httpClient } from '../chain/rpc.js'
import { parseAddressOption, parseIntegerOption, parseNumberOption } from '../cliUtil.js'
import {
  AAVE_VERSIONS,
  type AaveVersion,
  devnetInfo,
  fundAccount,
  readDevnetFile,
  reserveOf,
  setPrice,
  startDevnet,
  warp,
} from '../devnet/startDevnet.js'

export function parseAaveVersion(value: string): AaveVersion {
  if (!(AAVE_VERSIONS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${AAVE_VERSIONS.join(', ')}, got "${value}"`)
  }
  return value as AaveVersion
}

export function registerDevnetCommand(program: Command, waitForSignal: () => Promise<void>): void {
  const devnet = program
    .command('devnet')
    .description('start anvil with a real Aave v3 market and seeded borrowers; runs until Ctrl-C')
    .option('--accounts <n>', 'borrowers to seed', parseIntegerOption(0, 5000), 50)
    .option('--seed <s>', 'seed for the borrowers’ portfolios', parseIntegerOption(0, 2 ** 31), 1)
    .option('--out <file>', 'write the devnet description (RPC, addresses, accounts) to this file')
    .option(
      '--block-time <seconds>',
      'interval mining in seconds (default: automine)',
      parseNumberOption(0.05),
    )
    .option(
      '--aave <version>',
      'Aave version: 3.6 (aave-v3-origin, current mainnet) or 3.0 (@aave/core-v3)',
      parseAaveVersion,
      '3.6',
    )
    .action(
      async (options: {
        accounts: number
        seed: number
        out?: string
        blockTime?: number
        aave: AaveVersion
      }) => {
        const started = Date.now()
        const net = await startDevnet({
          accounts: options.accounts,
          seed: options.seed,
          aave: options.aave,
          ...(options.blockTime !== undefined ? { blockTimeSeconds: options.blockTime } : {}),
        })
        try {
          const info = devnetInfo(net)
          if (options.out) writeFileSync(options.out, JSON.stringify(info, null, 2))
          console.log(
            `devnet ready in ${((Date.now() - started) / 1000).toFixed(1)} s: Aave ${options.aave} at ${net.rpcUrl} (chain ${net.chainId}), ` +
              `pool ${net.addresses.pool}, ${net.accounts.length} accounts${options.out ? `, written to ${options.out}` : ''}`,
          )
          console.log('press Ctrl-C to stop')
          await waitForSignal()
        } finally {
          await net.stop()
        }
      },
    )

  devnet
    .command('price')
    .description('move a reserve’s oracle price with a transaction to its aggregator')
    .requiredOption('--devnet <file>', 'devnet description written by undertow devnet --out')
    .option('--rpc <url>', 'RPC URL (default: the one in the devnet file)')
    .argument('<symbol>', 'reserve symbol, e.g. WETH')
    .argument('<price>', 'new price in USD, e.g. 1850.25')
    .action(async (symbol: string, price: string, options: { devnet: string; rpc?: string }) => {
      const info = readDevnetFile(options.devnet)
      if (options.rpc) info.rpcUrl = options.rpc
      const client = httpClient(info.rpcUrl, info.chainId)
      const receipt = await setPrice(info, symbol, price, client)
      const answer = await client.readContract({
        address: reserveOf(info, symbol).aggregator,
        abi: aggregatorAbi,
        functionName: 'latestAnswer',
      })
      console.log(`${symbol} = ${formatUnits(answer, 8)} USD in block ${receipt.blockNumber}`)
    })

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
    .description('give an address ETH and a large balance of every reserve asset')
    .requiredOption('--devnet <file>', 'devnet description written by undertow devnet --out')
    .option('--rpc <url>', 'RPC URL (default: the one in the devnet file)')
    .argument('<address>', 'address to fund', parseAddressOption)
    .action(async (address: Address, options: { devnet: string; rpc?: string }) => {
      const info = readDevnetFile(options.devnet)
      if (options.rpc) info.rpcUrl = options.rpc
      await fundAccount(info, address)
      console.log(`funded ${address} with ETH and ${Object.keys(info.addresses.reserves).join(', ')}`)
    })
}
