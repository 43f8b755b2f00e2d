/** `undertow record` and `undertow backtest`: history through the daemon's own decision code. */
import type { Command } from 'commander'
import { parseUnits } from 'viem'
import { type Dataset, readDataset, recordDataset, writeDataset } from '../backtest/dataset.js'
import { forkExecute } from '../backtest/forkExecute.js'
import { replay } from '../backtest/replay.js'
import { renderSummary, writeReports } from '../backtest/report.js'
import { connectHttp } from '../chain/connect.js'
import { parseBlockOption } from '../cliUtil.js'
import { parseConfig } from '../config.js'
import { UsageError } from '../errors.js'
import { createLogger } from '../logger.js'
import type { StrategyRegistry } from '../strategyModule.js'
import type { Strategy } from '../types.js'
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

const quiet = () => createLogger('silent')

async function datasetFromRpc(
  options: Record<string, unknown>,
  env: Record<string, string | undefined>,
  registry: StrategyRegistry,
) {
  const config = parseConfig(targetFlags({ ...options, fromBlock: undefined }, registry), env, registry)
  const from = options.from as bigint | undefined
  const to = options.to as bigint | undefined
  if (from === undefined || to === undefined)
    throw new UsageError('--from and --to are required (or --dataset FILE)')
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`)
  const { client, chainId } = await connectHttp(config.rpcHttp, config.chainId)
  const head = await client.getBlockNumber({ cacheTime: 0 })
  if (to > head) throw new UsageError(`the node has blocks up to ${head}; --to ${to} is beyond its head`)
  const strategy = await config.module.create({ client, log: quiet() }, config.target.options, {
    fromBlock: config.target.fromBlock,
    toBlock: from,
  })
  const dataset = await recordDataset(client, strategy, {
    chainId,
    target: config.target.id,
    options: config.target.options,
    fromBlock: from,
    toBlock: to,
    onProgress: progress('recording'),
  })
  return { dataset, rpcUrl: config.rpcHttp }
}

export function registerBacktestCommands(
  program: Command,
  registry: StrategyRegistry,
  env: Record<string, string | undefined>,
): void {
  addTargetOptions(
    program
      .command('record')
      .description('save everything a backtest needs for blocks FROM..TO to a compressed file'),
    registry,
  )
    .requiredOption('--from <block>', 'first block (the mirror is built at it)', parseBlockOption)
    .requiredOption('--to <block>', 'last block', parseBlockOption)
    .requiredOption('--out <file>', 'dataset file to write (gzip JSON)')
    .action(async (options: Record<string, unknown>) => {
      const { dataset } = await datasetFromRpc(options, env, registry)
      writeDataset(options.out as string, dataset)
      console.log(
        `recorded blocks ${dataset.fromBlock}..${dataset.toBlock}: ${dataset.headers.length} headers, ${dataset.logs.length} logs, → ${options.out}`,
      )
    })

  addTargetOptions(
    program
      .command('backtest')
      .description('replay history through Undertow and score it against the real liquidations'),
    registry,
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
        if (options.fork) rpcUrl = parseConfig(targetFlags(options, registry), env, registry).rpcHttp
      } else {
        ;({ dataset, rpcUrl } = await datasetFromRpc(options, env, registry))
      }
      const module = registry.find(dataset.strategy)
      // The replay advances its own copy; the dataset's initial state stays as recorded (the fork
      // step reads it again).
      const replayed: Strategy = await module.create({ log: quiet() }, dataset.options, {
        fromBlock: dataset.fromBlock,
        restored: structuredClone(dataset.initial),
      })
      const report = await replay(replayed, dataset, {
        minProfitBase: parseUnits(minProfit, replayed.baseDecimals),
        blockTimeSec: (options.blockTime as bigint | undefined) ?? 12n,
        rankingTipWei: 10n ** 9n,
        onProgress: progress('replaying'),
      })
      if (options.fork) {
        if (!rpcUrl) throw new UsageError('--fork needs an RPC to fork from')
        if (!module.backtest) throw new UsageError(`strategy ${module.name} cannot execute on a fork`)
        await forkExecute(rpcUrl, dataset.chainId, replayed, module.backtest, report.episodes)
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
