/**
 * The demo, as a library (the `demo` command and the end-to-end tests use it): an embedded devnet,
 * the daemon running against it, a price shock delivered as pending oracle transactions while
 * blocks are mined on an interval, and the daemon liquidating every profitable underwater account.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, encodeFunctionData, type Hash, parseUnits } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { aggregatorAbi } from '../strategies/aave-v3/abi.js'
import { parseConfig } from './config.js'
import { type Daemon, startDaemon } from './daemon.js'
import {
  DEVNET_ADMIN,
  type Devnet,
  devnetInfo,
  fundAccount,
  parsePriceE8,
  reserveOf,
  startDevnet,
} from './devnet/startDevnet.js'
import { createLogger, type Logger } from './logger.js'

/** anvil's third default account, used as the demo liquidator (a well-known test key, never a real one). */
export const DEMO_LIQUIDATOR_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'

export interface DemoRun {
  devnet: Devnet
  daemon: Daemon
  liquidator: Address
  devnetFile: string
  dataDir: string
  stop(): Promise<void>
}

export async function startDemo(
  options: {
    accounts?: number
    seed?: number
    blockTimeSeconds?: number
    log?: Logger
    minProfitUsd?: string
  } = {},
): Promise<DemoRun> {
  const devnet = await startDevnet({ accounts: options.accounts ?? 50, seed: options.seed ?? 1 })
  try {
    const liquidator = privateKeyToAccount(DEMO_LIQUIDATOR_KEY).address
    await fundAccount(devnet, liquidator, devnet.client)
    const dir = mkdtempSync(join(tmpdir(), 'undertow-demo-'))
    const devnetFile = join(dir, 'devnet.json')
    writeFileSync(devnetFile, JSON.stringify(devnetInfo(devnet)))
    const dataDir = join(dir, 'data')
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const config = parseConfig(
      { devnet: devnetFile, dataDir, minProfitUsd: options.minProfitUsd ?? '5' },
      env,
    )
    const log = options.log ?? createLogger('warn', { pretty: false, destination: process.stderr })
    const daemon = await startDaemon(config, env, log)
    await devnet.client.request({
      method: 'evm_setIntervalMining',
      params: [options.blockTimeSeconds ?? 1],
    } as never)
    return {
      devnet,
      daemon,
      liquidator,
      devnetFile,
      dataDir,
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

/** Sends an oracle update to the mempool without waiting for it: the daemon sees it pending. */
export async function sendPendingPrice(
  devnet: Devnet,
  symbol: string,
  price: string,
  maxFeeGwei = '5',
): Promise<Hash> {
  const reserve = reserveOf(devnet, symbol)
  const data = encodeFunctionData({
    abi: aggregatorAbi,
    functionName: 'setAnswer',
    args: [parsePriceE8(price)],
  })
  const tx = {
    from: DEVNET_ADMIN,
    to: reserve.aggregator,
    data,
    gas: '0x30d40',
    maxFeePerGas: `0x${parseUnits(maxFeeGwei, 9).toString(16)}`,
    maxPriorityFeePerGas: `0x${parseUnits('1', 9).toString(16)}`,
  }
  return (await devnet.client.request({ method: 'eth_sendTransaction', params: [tx] } as never)) as Hash
}

/** Waits until no profitable opportunity remains and nothing is in flight for `quietBlocks` heads. */
export async function waitUntilSettled(run: DemoRun, timeoutMs = 90_000, quietBlocks = 3): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  let quiet = 0
  let lastBlock = -1n
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    const head = run.daemon.engine.lastHead
    if (!head || head.number === lastBlock) continue
    lastBlock = head.number
    const pending = (await run.devnet.client.request({ method: 'txpool_status', params: [] } as never)) as {
      pending: string
    }
    const open = run.daemon.strategy
      .plan({ timestamp: head.timestamp + 1n, gasPriceWei: (head.baseFeePerGas ?? 0n) + 10n ** 9n })
      .filter((o) => o.netProfitBase >= parseUnits('5', 8))
    quiet =
      open.length === 0 && run.daemon.executor.inFlightCount() === 0 && BigInt(pending.pending) === 0n
        ? quiet + 1
        : 0
    if (quiet >= quietBlocks) return true
  }
  return false
}
