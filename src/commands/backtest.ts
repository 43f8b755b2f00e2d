/** `undertow record` and `undertow backtest`: history through the daemon's own decision code. */
import type { Command } from 'commander'
import { parseUnits } from 'viem'
import { type Dataset, readDataset, recordDataset, writeDataset } from '../backtest/dataset.js'
import { forkExecute } from '../backtest/forkExecute.js'
import { replay } from '../backtest/replay.js'
import { renderSummary, writeReports } from '../backtest/report.js'
import { valueAtPrices } from '../backtest/value.js'
import { connectHttp } from '../chain/connect.js'
import { parseBlockOption } from '../cliUtil.js'
import { parseConfig } from '../config.js'
import { UsageError } from '../errors.js'
import { addTargetOptions, targetFlags } from './targetOptions.js'

function progress(label: string) {
  if (!process.stderr.isTTY) return undefined
  let last = 0
  return (done: number, total: number) => {
    const now = Date.now()
    if (now - last < 100 && done < total) return
    last = now
    const width = 30
    const filled = Math.round((done / Math.max(1, total)) * width)
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}${done >= total ? '\n' : ''}`,
    )
  }
}

async function datasetFromRpc(options: Record<string, unknown>, env: Record<string, string | undefined>) {
  const config = parseConfig(targetFlags({ ...options, fromBlock: undefined }), env)
  const from = options.from as bigint | undefined
  const to = options.to as bigint | undefined
  if (from === undefined || to === undefined)
    throw new UsageError('--from and --to are required (or --dataset FILE)')
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`)
  const { client, chainId } = await connectHttp(config.rpcHttp, config.chainId)
  const dataset = await recordDataset(client, {
    chainId,
    addressesProvider: config.addressesProvider,
    multicall: config.multicall,
    indexFromBlock: config.fromBlock,
    fromBlock: from,
    toBlock: to,
    onProgress: progress('recording'),
  })
  return { dataset, rpcUrl: config.rpcHttp }
}

export function registerBacktestCommands(program: Command, env: Record<string, string | undefined>): void {
  addTargetOptions(
    program
      .command('record')
      .description('save everything a backtest needs for blocks FROM..TO to a compressed file'),
  )
    .requiredOption('--from <block>', 'first block (the mirror is built at it)', parseBlockOption)
    .requiredOption('--to <block>', 'last block', parseBlockOption)
    .requiredOption('--out <file>', 'dataset file to write (gzip JSON)')
    .action(async (options: Record<string, unknown>) => {
      const { dataset } = await datasetFromRpc(options, env)
      writeDataset(options.out as string, dataset)
      console.log(
        `recorded blocks ${dataset.fromBlock}..${dataset.toBlock}: ${dataset.headers.length} headers, ${dataset.logs.length} logs, ${dataset.initial.accounts.size} accounts → ${options.out}`,
      )
    })

  addTargetOptions(
    program
      .command('backtest')
      .description('replay history through Undertow and score it against the real liquidations'),
  )
    .option('--from <block>', 'first block (the mirror is built at it)', parseBlockOption)
    .option('--to <block>', 'last block', parseBlockOption)
    .option('--dataset <file>', 'replay a recorded dataset offline instead of reading the node')
    .option('--fork', 'execute each opportunity on an anvil fork at its block (needs an RPC)')
    .option('--min-profit-usd <usd>', 'minimum net profit for an opportunity (default 1)')
    .option('--block-time <seconds>', 'expected seconds until inclusion (default 12)', parseBlockOption)
    .option('--json <file>', 'write the full report as JSON')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .action(async (options: Record<string, unknown>) => {
      const minProfit = String(options.minProfitUsd ?? '1')
      if (!/^\d+(\.\d+)?$/.test(minProfit))
        throw new UsageError(`--min-profit-usd must be a decimal number, got "${minProfit}"`)
      let dataset: Dataset
      let rpcUrl: string | undefined
      if (options.dataset) {
        dataset = readDataset(options.dataset as string)
        if (options.fork) rpcUrl = parseConfig(targetFlags(options), env).rpcHttp
      } else {
        ;({ dataset, rpcUrl } = await datasetFromRpc(options, env))
      }
      const report = replay(dataset, {
        minProfitBase: parseUnits(minProfit, 8),
        blockTimeSec: (options.blockTime as bigint | undefined) ?? 12n,
        rankingTipWei: 10n ** 9n,
        onProgress: progress('replaying'),
      })
      if (options.fork) {
        if (!rpcUrl) throw new UsageError('--fork needs an RPC to fork from')
        await forkExecute(
          rpcUrl,
          dataset.chainId,
          dataset.initial,
          report.episodes,
          (asset, amount, prices) => valueAtPrices(dataset.initial, asset, amount, prices),
        )
        for (const l of report.liquidations) {
          const episode = report.episodes.find((e) => e.takenBy?.txHash === l.txHash)
          if (l.detected && episode?.fork && !episode.fork.success) l.miss = 'would revert'
        }
      }
      console.log(renderSummary(report))
      writeReports(report, {
        json: options.json as string | undefined,
        html: options.html as string | undefined,
      })
    })
}
