/**
 * Configuration, parsed once: JSON file < environment < CLI flags, over defaults applied here and
 * nowhere else. Unknown keys are rejected with their path; "env:NAME" values are read from the
 * environment (for secrets such as RPC URLs with tokens). The result is frozen.
 */

import { readFileSync } from 'node:fs'
import { type Address, getAddress, isAddress } from 'viem'
import { z } from 'zod'
import { findMarketPreset, type MarketPreset, marketPresets } from '../strategies/aave-v3/marketPresets.js'
import { readDevnetFile } from './devnet/startDevnet.js'
import { UsageError } from './errors.js'

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), 'not an address')
  .transform((v) => getAddress(v))
const decimalString = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v).trim()
  if (!/^\d+(\.\d+)?$/.test(s))
    ctx.addIssue({ code: 'custom', message: `expected a non-negative decimal number, got "${s}"` })
  return s
})
const blockNumber = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, 'expected a block number')])
  .transform((v) => BigInt(v))
const url = z.string().refine((v) => /^(https?|wss?):\/\/./.test(v), 'expected an http(s):// or ws(s):// URL')

export const STRATEGIES = ['aave-v3'] as const

const fileSchema = z.strictObject({
  strategy: z.string().optional(),
  chainId: z.number().int().positive().optional(),
  devnet: z.string().optional(),
  rpc: z.strictObject({ http: z.string().optional(), ws: z.string().optional() }).optional(),
  market: z
    .strictObject({
      /** An address-book preset (AaveV3Ethereum, …) instead of an addressesProvider. */
      preset: z.string().optional(),
      addressesProvider: address.optional(),
      fromBlock: blockNumber.optional(),
      multicall: address.optional(),
    })
    .optional(),
  execution: z
    .strictObject({
      privateKeyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
        .optional(),
      minProfitUsd: decimalString.optional(),
      priorityFeeShareBps: z.number().int().min(0).max(10_000).optional(),
      maxFeePerGasGwei: decimalString.optional(),
      replaceAfterBlocks: z.number().int().min(1).max(100).optional(),
      maxConcurrent: z.number().int().min(1).max(64).optional(),
      gasLimitMarginBps: z.number().int().min(0).max(50_000).optional(),
      dryRun: z.boolean().optional(),
    })
    .optional(),
  watchdogBlocks: z.number().int().min(1).max(10_000).optional(),
  metricsPort: z.number().int().min(0).max(65_535).optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  dataDir: z.string().optional(),
})

export type ConfigFile = z.input<typeof fileSchema>

export interface Config {
  strategy: (typeof STRATEGIES)[number]
  chainId: number | undefined
  rpcHttp: string
  rpcWs: string | undefined
  addressesProvider: Address
  multicall: Address | undefined
  fromBlock: bigint
  execution: {
    privateKeyEnv: string
    minProfitUsd: string
    priorityFeeShareBps: number
    maxFeePerGasGwei: string
    replaceAfterBlocks: number
    maxConcurrent: number
    gasLimitMarginBps: number
    dryRun: boolean
  }
  watchdogBlocks: number
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
  addressesProvider?: string
  market?: string
  fromBlock?: bigint
  multicall?: string
  privateKeyEnv?: string
  minProfitUsd?: string
  dryRun?: boolean
  metricsPort?: number
  logLevel?: string
  dataDir?: string
}

function resolvePreset(name: string): MarketPreset {
  const preset = findMarketPreset(name)
  if (!preset) {
    const names = marketPresets().map((p) => p.name)
    throw new UsageError(
      `unknown market "${name}" (${names.length} presets from @aave-dao/aave-address-book: ${names.slice(0, 6).join(', ')}, …; list them with: undertow markets)`,
    )
  }
  return preset
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid configuration'
  const path = issue.path.join('.') || '(root)'
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

export function parseConfig(flags: ConfigFlags, env: Record<string, string | undefined>): Readonly<Config> {
  const file: ConfigFile = flags.config ? readConfigFile(flags.config) : {}
  const devnetPath = flags.devnet ?? file.devnet
  // A devnet named by a flag ranks with flags (above the file); one named in the file ranks below
  // the file's own rpc and market keys.
  const devnetFlag = flags.devnet ? readDevnetFile(flags.devnet) : undefined
  const devnetFile = !flags.devnet && file.devnet ? readDevnetFile(file.devnet) : undefined

  const strategy = flags.strategy ?? file.strategy ?? 'aave-v3'
  if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    throw new UsageError(`unknown strategy "${strategy}" (available: ${STRATEGIES.join(', ')})`)
  }
  const rpcHttp =
    flags.rpcHttp ??
    devnetFlag?.rpcUrl ??
    env.UNDERTOW_RPC_HTTP ??
    resolveSecret(file.rpc?.http, env, 'rpc.http') ??
    devnetFile?.rpcUrl
  if (!rpcHttp)
    throw new UsageError(
      'no RPC URL: pass --rpc-http (or --rpc), set rpc.http in the config, or use --devnet FILE',
    )
  const rpcWs =
    flags.rpcWs ??
    devnetFlag?.wsUrl ??
    env.UNDERTOW_RPC_WS ??
    resolveSecret(file.rpc?.ws, env, 'rpc.ws') ??
    devnetFile?.wsUrl
  for (const [name, value] of [
    ['RPC HTTP URL', rpcHttp],
    ['RPC WebSocket URL', rpcWs],
  ] as const) {
    if (value !== undefined && !url.safeParse(value).success)
      throw new UsageError(`${name} is not an http(s):// or ws(s):// URL`)
  }
  if (flags.market !== undefined && flags.addressesProvider !== undefined)
    throw new UsageError('pass either --market or --addresses-provider, not both')
  if (file.market?.preset !== undefined && file.market.addressesProvider !== undefined)
    throw new UsageError('set either market.preset or market.addressesProvider in the config, not both')
  const presetName = flags.market ?? (flags.addressesProvider === undefined ? file.market?.preset : undefined)
  const preset = presetName !== undefined ? resolvePreset(presetName) : undefined
  const providerRaw =
    flags.addressesProvider ??
    preset?.addressesProvider ??
    devnetFlag?.addresses.addressesProvider ??
    file.market?.addressesProvider ??
    devnetFile?.addresses.addressesProvider
  if (!providerRaw)
    throw new UsageError(
      'no market: pass --market NAME or --addresses-provider, set market.preset or market.addressesProvider, or use --devnet FILE',
    )
  if (!isAddress(providerRaw, { strict: false }))
    throw new UsageError(`--addresses-provider is not an address: "${providerRaw}"`)
  const multicallRaw =
    flags.multicall ??
    devnetFlag?.addresses.batchReader ??
    file.market?.multicall ??
    preset?.multicall ??
    devnetFile?.addresses.batchReader
  if (multicallRaw !== undefined && !isAddress(multicallRaw, { strict: false }))
    throw new UsageError(`--multicall is not an address: "${multicallRaw}"`)
  const explicitChainId = flags.chainId ?? file.chainId
  if (preset && explicitChainId !== undefined && explicitChainId !== preset.chainId)
    throw new UsageError(
      `market ${preset.name} is on chain ${preset.chainId}, but the chain id is set to ${explicitChainId}`,
    )
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
    strategy: strategy as Config['strategy'],
    chainId:
      flags.chainId ??
      preset?.chainId ??
      devnetFlag?.chainId ??
      chainIdEnv ??
      file.chainId ??
      devnetFile?.chainId,
    rpcHttp,
    rpcWs,
    addressesProvider: getAddress(providerRaw),
    multicall: multicallRaw ? getAddress(multicallRaw) : undefined,
    fromBlock:
      flags.fromBlock ??
      (devnetFlag ? 0n : undefined) ??
      (file.market?.fromBlock as bigint | undefined) ??
      0n,
    execution: {
      privateKeyEnv: flags.privateKeyEnv ?? e.privateKeyEnv ?? 'UNDERTOW_PRIVATE_KEY',
      minProfitUsd: String(minProfitUsd),
      priorityFeeShareBps: e.priorityFeeShareBps ?? 3_000,
      maxFeePerGasGwei: String(e.maxFeePerGasGwei ?? '300'),
      replaceAfterBlocks: e.replaceAfterBlocks ?? 2,
      maxConcurrent: e.maxConcurrent ?? 2,
      gasLimitMarginBps: e.gasLimitMarginBps ?? 3_000,
      dryRun: flags.dryRun ?? e.dryRun ?? false,
    },
    watchdogBlocks: file.watchdogBlocks ?? 10,
    metricsPort:
      flags.metricsPort ??
      (env.UNDERTOW_METRICS_PORT ? Number(env.UNDERTOW_METRICS_PORT) : undefined) ??
      file.metricsPort,
    logLevel,
    dataDir: flags.dataDir ?? env.UNDERTOW_DATA_DIR ?? file.dataDir ?? './data',
    devnet: devnetPath,
  }
  return Object.freeze(config)
}
