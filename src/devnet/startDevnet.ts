/**
 * The devnet: anvil from node_modules hosting one protocol's deployment (its module's devnet
 * provider deploys and seeds it). The same function serves tests, the demo and `undertow devnet`.
 */
import type { PublicClient } from 'viem'
import { devActions } from '../chain/devActions.js'
import { httpClient } from '../chain/rpc.js'
import { type AnvilInstance, startAnvil } from '../chain/startAnvil.js'
import { UsageError } from '../errors.js'
import type { DevnetProvider } from '../strategyModule.js'
import { BUILDER_COINBASE, type Builder, startBuilder } from './builder.js'
import type { DevnetInfo } from './devnetFile.js'
import { installGasPriceOracle, type L1FeeParams } from './opStack.js'

/** anvil's first default account (unlocked): deploys the devnet's own helpers. */
const DEVNET_DEPLOYER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'

export interface Devnet extends DevnetInfo {
  protocol: string
  client: PublicClient
  anvil: AnvilInstance
  summary: string
  /** The local block builder (`--builder`), if any: rpcUrl and wsUrl are then its front. */
  builder?: Builder | undefined
  /** The protocol's in-process services (price service, pusher), if any. */
  services: Record<string, unknown>
  stop(): Promise<void>
}

export interface DevnetOptions {
  accounts?: number
  seed?: number
  blockTimeSeconds?: number
  order?: 'fees' | 'fifo'
  /** The protocol's own devnet options (its provider's `options`), by name. */
  options?: Record<string, string>
  /** Extra anvil flags (e.g. --prune-history for very long histories). */
  anvilArgs?: string[]
  /** An OP-stack chain: anvil's optimism network and a GasPriceOracle at its predeploy address. */
  opStack?: L1FeeParams | undefined
  /**
   * A local block builder: anvil with mining off behind a builder front that takes public
   * transactions and bundles and builds a block every blockTimeSeconds (default 1 s).
   */
  builder?: boolean
  /**
   * Runs after the deployment and before any block is built or mined on an interval (anvil still
   * automines): scenario-specific seeding, e.g. the race's borrowers.
   */
  prepare?: (client: PublicClient, addresses: DevnetInfo['addresses']) => Promise<void>
}

export async function startDevnet(
  protocol: { name: string; devnet: DevnetProvider },
  options: DevnetOptions = {},
): Promise<Devnet> {
  if (options.builder && options.order === 'fees')
    throw new UsageError('a devnet with a builder orders its blocks itself (anvil runs --order fifo)')
  const anvil = await startAnvil({
    ...(options.builder ? { order: 'fifo' as const } : options.order ? { order: options.order } : {}),
    ...(options.anvilArgs || options.opStack
      ? { extraArgs: [...(options.anvilArgs ?? []), ...(options.opStack ? ['--network', 'optimism'] : [])] }
      : {}),
  })
  try {
    const client = httpClient(anvil.rpcUrl, anvil.chainId)
    if (options.opStack) await installGasPriceOracle(client, DEVNET_DEPLOYER, options.opStack)
    const defaults = Object.fromEntries(
      protocol.devnet.options.flatMap((o) => (o.default !== undefined ? [[o.name, o.default]] : [])),
    )
    const deployment = await protocol.devnet.deploy(client, {
      accounts: options.accounts ?? 0,
      seed: options.seed ?? 1,
      options: { ...defaults, ...options.options },
    })
    await options.prepare?.(client, deployment.addresses)
    // Interval mining starts after setup so deployment and seeding stay fast. anvil's interval is
    // whole seconds; a sub-second block time (L2s: 250 ms) is mined by the devnet itself.
    let miner: ReturnType<typeof startMiner> | undefined
    let builder: Builder | undefined
    if (options.builder)
      builder = await startBuilder({
        anvilHttp: anvil.rpcUrl,
        anvilWs: anvil.wsUrl,
        intervalMs: (options.blockTimeSeconds ?? 1) * 1000,
      })
    else if (options.blockTimeSeconds !== undefined) {
      if (Number.isInteger(options.blockTimeSeconds))
        await devActions(client).setIntervalMining({ interval: options.blockTimeSeconds })
      else {
        await devActions(client).setAutomine(false)
        miner = startMiner(client, options.blockTimeSeconds * 1000)
      }
    }
    return {
      protocol: protocol.name,
      rpcUrl: builder?.rpcUrl ?? anvil.rpcUrl,
      wsUrl: builder?.wsUrl ?? anvil.wsUrl,
      ...(builder ? { builderUrl: builder.rpcUrl, builderFeeRecipient: BUILDER_COINBASE } : {}),
      chainId: anvil.chainId,
      addresses: deployment.addresses,
      accounts: deployment.accounts,
      summary: deployment.summary,
      ...(deployment.extra?.priceServiceUrl ? { priceServiceUrl: deployment.extra.priceServiceUrl } : {}),
      services: deployment.services ?? {},
      // With a builder every transaction goes through its front (it orders the blocks).
      client: builder ? httpClient(builder.rpcUrl, anvil.chainId) : client,
      anvil,
      builder,
      async stop() {
        await builder?.stop()
        await miner?.stop()
        await deployment.stop?.()
        await anvil.stop()
      },
    }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}

/**
 * Mines a block every `intervalMs` (on a schedule, not after each other: a slow block does not
 * delay the next one's slot), until stopped.
 */
function startMiner(client: PublicClient, intervalMs: number) {
  let stopped = false
  let mining: Promise<unknown> = Promise.resolve()
  const started = performance.now()
  let slot = 0
  let timer: NodeJS.Timeout | undefined
  const next = () => {
    if (stopped) return
    slot++
    timer = setTimeout(
      () => {
        mining = devActions(client)
          .mine({ blocks: 1 })
          .catch(() => undefined)
        next()
      },
      Math.max(0, started + slot * intervalMs - performance.now()),
    )
  }
  next()
  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await mining
    },
  }
}

/** Advances chain time by `seconds` and mines a block so the new timestamp takes effect. */
export async function warp(devnet: DevnetInfo, seconds: number, client?: PublicClient): Promise<void> {
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new UsageError(`--seconds must be a positive integer, got ${seconds}`)
  const rpc = client ?? httpClient(devnet.rpcUrl, devnet.chainId)
  await devActions(rpc).increaseTime({ seconds })
  await devActions(rpc).mine({ blocks: 1 })
}
