/**
 * Configuration, parsed once: JSON file < environment < CLI flags, over defaults applied here and
 * nowhere else. Unknown keys are rejected with their path; "env:NAME" values are read from the
 * environment (for secrets such as RPC URLs with tokens). The result is frozen.
 */

import { readFileSync } from 'node:fs'
import { type Address, getAddress, isAddress } from 'viem'
import { z } from 'zod'
import { readDevnetFile } from './devnet/devnetFile.js'
import { displayUrl, UsageError } from './errors.js'
import type { ResolvedTarget, StrategyModule, StrategyRegistry } from './strategyModule.js'

const decimalString = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v).trim()
  if (!/^\d+(\.\d+)?$/.test(s))
    ctx.addIssue({ code: 'custom', message: `expected a non-negative decimal number, got "${s}"` })
  return s
})
const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), 'expected a 0x-prefixed 20-byte address')
  .transform((v) => getAddress(v))
const url = z.string().refine((v) => /^(https?|wss?):\/\/./.test(v), 'expected an http(s):// or ws(s):// URL')

const fileSchema = z.strictObject({
  strategy: z.string().optional(),
  chainId: z.number().int().positive().optional(),
  devnet: z.string().optional(),
  /** One endpoint, or several: heads and pending transactions from all, reads from the healthiest. */
  rpc: z
    .union([
      z.strictObject({ http: z.string().optional(), ws: z.string().optional() }),
      z
        .array(z.strictObject({ http: z.string(), ws: z.string().optional() }))
        .min(1)
        .max(8),
    ])
    .optional(),
  /** An endpoint whose head lags the best one by more than this is demoted until it catches up. */
  rpcMaxLagBlocks: z.number().int().min(1).max(1_000).optional(),
  /** The strategy's own section, validated by its module's schema once the strategy is known. */
  market: z.unknown().optional(),
  execution: z
    .strictObject({
      privateKeyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
        .optional(),
      /**
       * More hot wallets besides the liquidator's key: the environment variables holding their
       * keys. Each sends on its own nonces; flash routes stay the liquidator's (the contract's owner).
       */
      hotWalletKeyEnvs: z
        .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'))
        .max(16)
        .optional(),
      minProfitUsd: decimalString.optional(),
      priorityFeeShareBps: z.number().int().min(0).max(10_000).optional(),
      /**
       * Bids learned from landed liquidations: the percentile of winners' priority-fee share of the
       * bonus to bid (null: off, the fixed share always), over the last bidWindow of them, once
       * there are bidMinSamples.
       */
      bidPercentile: z.number().min(0).max(100).nullable().optional(),
      bidWindow: z.number().int().min(1).max(10_000).optional(),
      bidMinSamples: z.number().int().min(1).max(10_000).optional(),
      maxFeePerGasGwei: decimalString.optional(),
      replaceAfterBlocks: z.number().int().min(1).max(100).optional(),
      maxConcurrent: z.number().int().min(1).max(64).optional(),
      /** Work everything one pending update opens at once (up to 64) rather than maxConcurrent at a time. */
      burst: z.boolean().optional(),
      gasLimitMarginBps: z.number().int().min(0).max(50_000).optional(),
      dryRun: z.boolean().optional(),
      /** The address a dry run simulates from when no key is given (the key's address otherwise). */
      liquidator: address.optional(),
      /** How liquidations found on a block are sent: the public mempool, or bundles to the builders. */
      lane: z.enum(['public', 'bundle']).optional(),
      /**
       * How oracle backruns are sent: public (the update's fees copied), a bundle with the update's
       * signed bytes first, or an order-flow auction (mev_sendBundle with the update's hash first).
       */
      backrunLane: z.enum(['public', 'bundle', 'auction']).optional(),
      builders: z
        .array(
          z.strictObject({
            name: z
              .string()
              .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'expected a short name (letters, digits, _ . -)')
              .optional(),
            url: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http(s) URL'),
            /** It serves eth_callBundle: each new bundle is checked there first. */
            callBundle: z.boolean().optional(),
            /** The fee recipient of its blocks, to credit inclusions to it. */
            feeRecipient: address.optional(),
          }),
        )
        .max(32)
        .optional(),
      /** The environment variable holding the bundle auth key (signs X-Flashbots-Signature; never the liquidator's key). */
      bundleAuthKeyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
        .optional(),
      /** Blocks each bundle targets; it is resent each block until included or no longer profitable. */
      bundleBlocks: z.number().int().min(1).max(25).optional(),
    })
    .optional(),
  watchdogBlocks: z.number().int().min(1).max(10_000).optional(),
  /** The chain's block interval; planning times the next block with it (default: learned from heads). */
  blockTimeSeconds: z.number().positive().max(3_600).optional(),
  metricsPort: z.number().int().min(0).max(65_535).optional(),
  /** Interface /metrics and /healthz listen on (default loopback only). */
  metricsHost: z.string().min(1).optional(),
  /** Accounts per block the always-on differential check compares besides those about to be liquidated. */
  crossCheckSample: z.number().int().min(0).max(10_000).optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  dataDir: z.string().optional(),
})

export type ConfigFile = z.output<typeof fileSchema>

export interface Config {
  strategy: string
  /** The strategy's module, from the registry. */
  module: StrategyModule<unknown>
  /** Its options, its deployment's identity and the first block to index. */
  target: ResolvedTarget<unknown>
  chainId: number | undefined
  rpcHttp: string
  rpcWs: string | undefined
  /** Endpoints after the first (config `rpc: [...]`). */
  rpcExtra: { http: string; ws: string | undefined }[]
  rpcMaxLagBlocks: number
  execution: {
    privateKeyEnv: string
    hotWalletKeyEnvs: string[]
    minProfitUsd: string
    priorityFeeShareBps: number
    /** undefined: bids are not learned. */
    bidPercentile: number | undefined
    bidWindow: number
    bidMinSamples: number
    maxFeePerGasGwei: string
    replaceAfterBlocks: number
    maxConcurrent: number
    burst: boolean
    gasLimitMarginBps: number
    dryRun: boolean
    liquidator: Address | undefined
    lane: 'public' | 'bundle'
    backrunLane: 'public' | 'bundle' | 'auction'
    builders: { name: string; url: string; callBundle: boolean; feeRecipient: Address | undefined }[]
    bundleAuthKeyEnv: string
    bundleBlocks: number
  }
  watchdogBlocks: number
  crossCheckSample: number
  metricsHost: string
  blockTimeSeconds: number | undefined
  metricsPort: number | undefined
  logLevel: string
  dataDir: string
  /** Set when the target came from a devnet file. */
  devnet: string | undefined
}

export interface ConfigFlags {
  config?: string
  devnet?: string
  rpcHttp?: string
  rpcWs?: string
  chainId?: number
  strategy?: string
  fromBlock?: bigint
  /** Values of the strategies' own flags (--market, …), by name. */
  strategyFlags?: Record<string, unknown>
  privateKeyEnv?: string
  minProfitUsd?: string
  dryRun?: boolean
  /** Already checked by the CLI parser. */
  liquidator?: Address
  metricsPort?: number
  metricsHost?: string
  blockTimeSeconds?: number
  logLevel?: string
  dataDir?: string
}

function envPort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535)
    throw new UsageError(`UNDERTOW_METRICS_PORT: expected a port number, got "${value}"`)
  return Number(value)
}

function describeIssue(error: z.ZodError, prefix: string[] = []): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid configuration'
  const path = [...prefix, ...issue.path.map(String)].join('.') || '(root)'
  if (issue.code === 'unrecognized_keys')
    return `unknown key ${issue.keys.map((k) => (path === '(root)' ? k : `${path}.${k}`)).join(', ')}`
  return `${path}: ${issue.message}`
}

function readConfigFile(path: string): ConfigFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new UsageError(`config file ${path} cannot be read`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new UsageError(
      `config file ${path} is not valid JSON (${error instanceof Error ? error.message.split('\n')[0] : 'parse error'})`,
    )
  }
  const parsed = fileSchema.safeParse(json)
  if (!parsed.success) throw new UsageError(`config file ${path}: ${describeIssue(parsed.error)}`)
  return parsed.data as ConfigFile
}

/** Resolves "env:NAME" to the variable's value; a missing variable is an error that names it. */
function resolveSecret(
  value: string | undefined,
  env: Record<string, string | undefined>,
  what: string,
): string | undefined {
  if (value === undefined || !value.startsWith('env:')) return value
  const name = value.slice(4)
  const resolved = env[name]
  if (!resolved) throw new UsageError(`${what} refers to environment variable ${name}, which is not set`)
  return resolved
}

export function parseConfig(
  flags: ConfigFlags,
  env: Record<string, string | undefined>,
  registry: StrategyRegistry,
): Readonly<Config> {
  const file: ConfigFile = flags.config ? readConfigFile(flags.config) : {}
  const devnetPath = flags.devnet ?? file.devnet
  // A devnet named by a flag ranks with flags (above the file); one named in the file ranks below
  // the file's own rpc and market keys.
  const devnetFlag = flags.devnet ? readDevnetFile(flags.devnet) : undefined
  const devnetFile = !flags.devnet && file.devnet ? readDevnetFile(file.devnet) : undefined

  const strategy =
    flags.strategy ?? file.strategy ?? devnetFlag?.protocol ?? devnetFile?.protocol ?? registry.defaultName
  const module = registry.find(strategy)
  const devnetInfo = devnetFlag ?? devnetFile
  if (devnetInfo?.protocol !== undefined && devnetInfo.protocol !== strategy)
    throw new UsageError(
      `the devnet ${devnetPath} runs ${devnetInfo.protocol}, but the strategy is ${strategy}`,
    )
  const fileRpc = Array.isArray(file.rpc) ? file.rpc : file.rpc ? [file.rpc] : []
  const firstRpc = fileRpc[0]
  const rpcPath = Array.isArray(file.rpc) ? 'rpc.0' : 'rpc'
  const rpcHttp =
    flags.rpcHttp ??
    devnetFlag?.rpcUrl ??
    env.UNDERTOW_RPC_HTTP ??
    resolveSecret(firstRpc?.http, env, `${rpcPath}.http`) ??
    devnetFile?.rpcUrl
  if (!rpcHttp)
    throw new UsageError(
      'no RPC URL: pass --rpc-http (or --rpc), set rpc.http in the config, or use --devnet FILE',
    )
  const rpcWs =
    flags.rpcWs ??
    devnetFlag?.wsUrl ??
    env.UNDERTOW_RPC_WS ??
    resolveSecret(firstRpc?.ws, env, `${rpcPath}.ws`) ??
    devnetFile?.wsUrl
  const rpcExtra = fileRpc.slice(1).map((e, i) => ({
    http: resolveSecret(e.http, env, `rpc.${i + 1}.http`) as string,
    ws: resolveSecret(e.ws, env, `rpc.${i + 1}.ws`),
  }))
  for (const [name, value] of [
    ['RPC HTTP URL', rpcHttp],
    ['RPC WebSocket URL', rpcWs],
    ...rpcExtra.flatMap((e, i) => [
      [`RPC HTTP URL ${i + 2}`, e.http],
      [`RPC WebSocket URL ${i + 2}`, e.ws],
    ]),
  ] as const) {
    if (value !== undefined && !url.safeParse(value).success)
      throw new UsageError(`${name} is not an http(s):// or ws(s):// URL`)
  }
  let section: unknown
  if (file.market !== undefined) {
    const parsed = module.marketSchema.safeParse(file.market)
    if (!parsed.success)
      throw new UsageError(`config file ${flags.config}: ${describeIssue(parsed.error, ['market'])}`)
    section = parsed.data
  }
  const target = module.resolveTarget({
    section,
    flags: flags.strategyFlags ?? {},
    devnet: devnetFlag
      ? { info: devnetFlag, rank: 'flag' }
      : devnetFile
        ? { info: devnetFile, rank: 'file' }
        : undefined,
    chainId: flags.chainId ?? file.chainId,
    fromBlock: flags.fromBlock,
  })
  const chainIdEnv = env.UNDERTOW_CHAIN_ID !== undefined ? Number(env.UNDERTOW_CHAIN_ID) : undefined
  if (chainIdEnv !== undefined && !(Number.isInteger(chainIdEnv) && chainIdEnv > 0))
    throw new UsageError('UNDERTOW_CHAIN_ID is not a positive integer')
  const minProfitUsd =
    flags.minProfitUsd ?? env.UNDERTOW_MIN_PROFIT_USD ?? file.execution?.minProfitUsd ?? '1'
  if (!/^\d+(\.\d+)?$/.test(String(minProfitUsd)))
    throw new UsageError(`min profit must be a non-negative decimal number of USD, got "${minProfitUsd}"`)
  const logLevel = flags.logLevel ?? env.UNDERTOW_LOG_LEVEL ?? file.logLevel ?? 'info'
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel))
    throw new UsageError(`unknown log level "${logLevel}"`)

  const e = file.execution ?? {}
  const config: Config = {
    strategy,
    module,
    target,
    chainId:
      flags.chainId ??
      target.chainId ??
      devnetFlag?.chainId ??
      chainIdEnv ??
      file.chainId ??
      devnetFile?.chainId,
    rpcHttp,
    rpcWs,
    rpcExtra,
    rpcMaxLagBlocks: file.rpcMaxLagBlocks ?? 3,
    execution: {
      privateKeyEnv: flags.privateKeyEnv ?? e.privateKeyEnv ?? 'UNDERTOW_PRIVATE_KEY',
      hotWalletKeyEnvs: e.hotWalletKeyEnvs ?? [],
      minProfitUsd: String(minProfitUsd),
      priorityFeeShareBps: e.priorityFeeShareBps ?? 3_000,
      bidPercentile: e.bidPercentile === null ? undefined : (e.bidPercentile ?? 75),
      bidWindow: e.bidWindow ?? 100,
      bidMinSamples: e.bidMinSamples ?? 5,
      maxFeePerGasGwei: String(e.maxFeePerGasGwei ?? '300'),
      replaceAfterBlocks: e.replaceAfterBlocks ?? 2,
      maxConcurrent: e.maxConcurrent ?? 2,
      burst: e.burst ?? true,
      gasLimitMarginBps: e.gasLimitMarginBps ?? 3_000,
      dryRun: flags.dryRun ?? e.dryRun ?? false,
      liquidator: flags.liquidator ?? e.liquidator,
      lane: e.lane ?? 'public',
      backrunLane: e.backrunLane ?? e.lane ?? 'public',
      builders: (e.builders ?? []).map((b) => ({
        name:
          b.name ??
          displayUrl(b.url)
            .replace(/^https?:\/\//, '')
            .replace('/…', ''),
        url: b.url,
        callBundle: b.callBundle ?? false,
        feeRecipient: b.feeRecipient,
      })),
      bundleAuthKeyEnv: e.bundleAuthKeyEnv ?? 'UNDERTOW_BUNDLE_AUTH_KEY',
      bundleBlocks: e.bundleBlocks ?? 3,
    },
    watchdogBlocks: file.watchdogBlocks ?? 10,
    crossCheckSample: file.crossCheckSample ?? 16,
    metricsHost: flags.metricsHost ?? env.UNDERTOW_METRICS_HOST ?? file.metricsHost ?? '127.0.0.1',
    blockTimeSeconds: flags.blockTimeSeconds ?? file.blockTimeSeconds,
    metricsPort:
      flags.metricsPort ??
      (env.UNDERTOW_METRICS_PORT ? envPort(env.UNDERTOW_METRICS_PORT) : undefined) ??
      file.metricsPort,
    logLevel,
    dataDir: flags.dataDir ?? env.UNDERTOW_DATA_DIR ?? file.dataDir ?? './data',
    devnet: devnetPath,
  }
  const ex = config.execution
  if ((ex.lane !== 'public' || ex.backrunLane !== 'public') && ex.builders.length === 0)
    throw new UsageError(
      `execution.lane "${ex.lane}" / execution.backrunLane "${ex.backrunLane}" need execution.builders (none given)`,
    )
  const names = new Set<string>()
  for (const b of ex.builders) {
    if (names.has(b.name))
      throw new UsageError(`execution.builders: two builders are named "${b.name}" (give each a name)`)
    names.add(b.name)
  }
  if (config.execution.liquidator && !config.execution.dryRun)
    throw new UsageError(
      '--liquidator (execution.liquidator) names who a dry run simulates as; it needs --dry-run',
    )
  return Object.freeze(config)
}
