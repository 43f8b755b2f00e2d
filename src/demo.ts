/**
 * The demo, as a library (the `demo` command, the end-to-end tests and the bench use it): an
 * embedded devnet hosting a protocol, the daemon running against it, a price shock delivered as
 * pending oracle transactions while blocks are mined on an interval, and the daemon liquidating
 * every profitable underwater account.
 */
import { pbkdf2Sync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, type Hash, parseUnits } from 'viem'
import { type HDAccount, HDKey, hdKeyToAccount, privateKeyToAccount } from 'viem/accounts'
import { sendRawTransaction } from 'viem/actions'
import { devActions } from './chain/devActions.js'
import { sendUnlocked } from './chain/rpc.js'
import { parseConfig } from './config.js'
import { type Daemon, startDaemon } from './daemon.js'
import { BUILDER_COINBASE } from './devnet/builder.js'
import { devnetInfo } from './devnet/devnetFile.js'
import { type Devnet, type DevnetOptions, startDevnet } from './devnet/startDevnet.js'
import { UsageError } from './errors.js'
import { createLogger, type Logger } from './logger.js'
import type { DevnetProvider, StrategyRegistry } from './strategyModule.js'

/** anvil's third default account, used as the demo liquidator (a well-known test key, never a real one). */
export const DEMO_LIQUIDATOR_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'
/** The demo searcher's bundle auth key (its identity at the devnet's builder; holds nothing). */
export const DEMO_BUNDLE_AUTH_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6'

/** Extra hot wallets of the demo (anvil's sixth to ninth default accounts, well-known test keys). */
export const DEMO_HOT_WALLET_KEYS = [
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
] as const

export interface DemoRun {
  devnet: Devnet
  provider: DevnetProvider
  daemon: Daemon
  liquidator: Address
  devnetFile: string
  dataDir: string
  minProfitUsd: string
  stop(): Promise<void>
}

export async function startDemo(
  registry: StrategyRegistry,
  options: {
    protocol?: string
    accounts?: number
    seed?: number
    blockTimeSeconds?: number
    log?: Logger
    minProfitUsd?: string
    devnetOptions?: DevnetOptions['options']
    opStack?: DevnetOptions['opStack']
    /**
     * The devnet's block builder, and the daemon's lanes to it: liquidations as bundles, backruns
     * through the order-flow auction or as bundles (default public mempool, anvil's own mining).
     */
    builder?: {
      backrunLane: 'bundle' | 'auction' | 'public'
      lane?: 'bundle' | 'public'
      bundleBlocks?: number
      /** Ask the builder with eth_callBundle before each bundle (default true; a round trip more). */
      callBundle?: boolean
      /** More builder endpoints besides the devnet's (e.g. one that cannot be reached). */
      extraBuilders?: { name: string; url: string }[]
    }
    /** Extra environment for the daemon (e.g. a malformed auth key). */
    env?: Record<string, string>
    /** Hot wallets besides the liquidator (up to 4, funded like it). */
    hotWallets?: number
    /** Seeding of the devnet's own, before its blocks are built (DevnetOptions.prepare). */
    prepare?: DevnetOptions['prepare']
  } = {},
): Promise<DemoRun> {
  const module = registry.find(options.protocol ?? registry.defaultName, 'protocol')
  const provider = module.devnet
  if (!provider) throw new UsageError(`protocol ${module.name} has no devnet deployment`)
  const devnet = await startDevnet(
    { name: module.name, devnet: provider },
    {
      accounts: options.accounts ?? 50,
      seed: options.seed ?? 1,
      ...(options.devnetOptions ? { options: options.devnetOptions } : {}),
      ...(options.opStack ? { opStack: options.opStack } : {}),
      ...(options.builder ? { builder: true, blockTimeSeconds: options.blockTimeSeconds ?? 1 } : {}),
      ...(options.prepare ? { prepare: options.prepare } : {}),
    },
  )
  try {
    const liquidator = privateKeyToAccount(DEMO_LIQUIDATOR_KEY).address
    await provider.fund(devnet.client, devnet, liquidator)
    const hotKeys = DEMO_HOT_WALLET_KEYS.slice(0, options.hotWallets ?? 0)
    for (const key of hotKeys) await provider.fund(devnet.client, devnet, privateKeyToAccount(key).address)
    const hotEnv = Object.fromEntries(hotKeys.map((key, i) => [`UNDERTOW_HOT_WALLET_${i + 1}`, key]))
    const dir = mkdtempSync(join(tmpdir(), 'undertow-demo-'))
    const devnetFile = join(dir, 'devnet.json')
    writeFileSync(devnetFile, JSON.stringify(devnetInfo(devnet)))
    const dataDir = join(dir, 'data')
    const env: Record<string, string> = {
      UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY,
      ...(options.builder ? { UNDERTOW_BUNDLE_AUTH_KEY: DEMO_BUNDLE_AUTH_KEY } : {}),
      ...hotEnv,
      ...options.env,
    }
    const minProfitUsd = options.minProfitUsd ?? '5'
    let configFile: string | undefined
    const execution: Record<string, unknown> = {}
    if (hotKeys.length > 0) execution.hotWalletKeyEnvs = Object.keys(hotEnv)
    if (options.builder && devnet.builder)
      Object.assign(execution, {
        lane: options.builder.lane ?? 'bundle',
        backrunLane: options.builder.backrunLane,
        bundleBlocks: options.builder.bundleBlocks ?? 2,
        builders: [
          {
            name: 'devnet',
            url: devnet.builder.rpcUrl,
            callBundle: options.builder.callBundle ?? true,
            feeRecipient: BUILDER_COINBASE,
          },
          ...(options.builder.extraBuilders ?? []),
        ],
      })
    if (Object.keys(execution).length > 0) {
      configFile = join(dir, 'config.json')
      writeFileSync(configFile, JSON.stringify({ execution }))
    }
    const config = parseConfig(
      {
        devnet: devnetFile,
        dataDir,
        minProfitUsd,
        blockTimeSeconds: options.blockTimeSeconds ?? 1,
        ...(configFile ? { config: configFile } : {}),
      },
      env,
      registry,
    )
    const log = options.log ?? createLogger('warn', { pretty: false, destination: process.stderr })
    const daemon = await startDaemon(config, env, log)
    const interval = options.blockTimeSeconds ?? 1
    // Block clocks advance by exactly the interval (as on a slot-based chain), not by the wall
    // clock of a loaded machine, so the next block's timestamp is known and amounts that accrue per
    // second (funding, interest) are predicted to the unit.
    // (A devnet with a builder mines its own blocks on such a clock.)
    if (!devnet.builder) {
      await devActions(devnet.client).setBlockTimestampInterval({
        interval: Math.max(1, Math.round(interval)),
      })
      await devActions(devnet.client).setIntervalMining({ interval })
    }
    return {
      devnet,
      provider,
      daemon,
      liquidator,
      devnetFile,
      dataDir,
      minProfitUsd,
      async stop() {
        await daemon.stop(10_000)
        await devnet.stop()
      },
    }
  } catch (error) {
    await devnet.stop()
    throw error
  }
}

/** anvil's default accounts (its public test mnemonic): the devnets' admins and price pushers. */
let anvilAccounts: HDAccount[] | undefined
/**
 * Derived on first use, from one seed: the mnemonic's key stretching (BIP-39: PBKDF2-HMAC-SHA512,
 * 2048 rounds, salt "mnemonic") by node's native crypto. viem's mnemonicToAccount redoes it in
 * JavaScript per account (~30 ms each); done for ten at import, it cost every CLI start ~300 ms.
 */
function anvilAccount(address: Address): HDAccount | undefined {
  if (!anvilAccounts) {
    const mnemonic = 'test test test test test test test test test test test junk'
    const root = HDKey.fromMasterSeed(pbkdf2Sync(mnemonic, 'mnemonic', 2048, 64, 'sha512'))
    anvilAccounts = Array.from({ length: 10 }, (_, i) => hdKeyToAccount(root, { addressIndex: i }))
  }
  return anvilAccounts.find((a) => a.address.toLowerCase() === address.toLowerCase())
}

/** Sends an oracle update to the mempool without waiting for it: the daemon sees it pending. */
export async function sendPendingPrice(
  run: { devnet: Devnet; provider: DevnetProvider },
  symbol: string,
  price: string,
  maxFeeGwei = '5',
): Promise<Hash> {
  const tx = run.provider.priceUpdateTx(run.devnet, symbol, price)
  // anvil's own accounts sign for real (an impersonated send carries no signature, and its bytes
  // could not be put in a bundle as an oracle update's are on a real chain).
  const signer = anvilAccount(tx.from)
  if (signer) {
    const client = run.devnet.client
    const nonce = await client.getTransactionCount({ address: signer.address, blockTag: 'pending' })
    const raw = await signer.signTransaction({
      chainId: run.devnet.chainId,
      type: 'eip1559',
      nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value ?? 0n,
      gas: 200_000n,
      maxFeePerGas: parseUnits(maxFeeGwei, 9),
      maxPriorityFeePerGas: parseUnits('1', 9),
    })
    return sendRawTransaction(client, { serializedTransaction: raw })
  }
  return sendUnlocked(run.devnet.client, {
    from: tx.from,
    to: tx.to,
    data: tx.data,
    ...(tx.value !== undefined ? { value: tx.value } : {}),
    gas: 200_000n,
    maxFeePerGas: parseUnits(maxFeeGwei, 9),
    maxPriorityFeePerGas: parseUnits('1', 9),
  })
}

/** Waits until no profitable opportunity remains and nothing is in flight for `quietBlocks` heads. */
export async function waitUntilSettled(run: DemoRun, timeoutMs = 90_000, quietBlocks = 3): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  const minProfitBase = parseUnits(run.minProfitUsd, run.daemon.strategy.baseDecimals)
  let quiet = 0
  let lastBlock = -1n
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    const head = run.daemon.engine.lastHead
    if (!head || head.number === lastBlock) continue
    lastBlock = head.number
    const pending = await devActions(run.devnet.client).getTxpoolStatus()
    const open = run.daemon.strategy
      .plan({ timestamp: head.timestamp + 1n, gasPriceWei: (head.baseFeePerGas ?? 0n) + 10n ** 9n })
      .filter((o) => o.netProfitBase >= minProfitBase)
    quiet =
      open.length === 0 && run.daemon.executor.inFlightCount() === 0 && pending.pending === 0 ? quiet + 1 : 0
    if (quiet >= quietBlocks) return true
  }
  return false
}
