/**
 * A devnet whose borrowers each hold 10 WETH against USDC debt chosen so that a given WETH price
 * makes them liquidatable, and a running daemon over it (automine off: the bench mines). Shared by
 * the tick-to-trade and batch benchmarks.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseUnits } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { parseConfig } from '../src/config.js'
import { type Daemon, startDaemon } from '../src/daemon.js'
import { DEMO_LIQUIDATOR_KEY } from '../src/demo.js'
import { devnetInfo } from '../src/devnet/devnetFile.js'
import { createLogger } from '../src/logger.js'
import { type AaveDevnet, fundAccount, startAaveDevnet } from '../strategies/aave-v3/devnet/index.js'
import { executePlan, seededAccount } from '../strategies/aave-v3/devnet/seedAccounts.js'
import { registry } from '../strategies/index.js'

export async function startVictims(
  thresholds: number[],
  seed: number,
): Promise<{ devnet: AaveDevnet; daemon: Daemon; mineAndWait(): Promise<void> }> {
  const devnet = await startAaveDevnet({ accounts: 0 })
  try {
    // Victim j: 10 WETH, USDC debt that makes it liquidatable below thresholds[j] USD per WETH.
    const plans = thresholds.map((price, j) => ({
      address: seededAccount(seed, j),
      profile: 'cross' as const,
      eMode: 0,
      supplies: [{ symbol: 'WETH', amount: parseUnits('10', 18) }],
      borrows: [{ symbol: 'USDC', amount: parseUnits((8.25 * price).toFixed(6), 6) }],
    }))
    await devnet.client.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let plan = plans[next++]; plan; plan = plans[next++])
          await executePlan(devnet.client, devnet.addresses, plan)
      }),
    )
    const liquidator = privateKeyToAccount(DEMO_LIQUIDATOR_KEY).address
    await fundAccount(devnet, liquidator, devnet.client)
    const dir = mkdtempSync(join(tmpdir(), 'undertow-bench-'))
    writeFileSync(join(dir, 'devnet.json'), JSON.stringify(devnetInfo(devnet)))
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const config = parseConfig(
      { devnet: join(dir, 'devnet.json'), dataDir: join(dir, 'data'), minProfitUsd: '1' },
      env,
      registry,
    )
    const daemon = await startDaemon(
      config,
      env,
      createLogger('error', { pretty: false, destination: process.stderr }),
    )
    await devnet.client.request({ method: 'evm_setAutomine', params: [false] } as never)
    // Mines until the daemon has the head and nothing of its own is pending (a block-path
    // liquidation sent right after a mine needs the next block).
    const mineAndWait = async () => {
      for (let round = 0; round < 50; round++) {
        await devnet.client.request({ method: 'evm_mine', params: [] } as never)
        const target = await devnet.client.getBlockNumber({ cacheTime: 0 })
        const until = Date.now() + 200
        while (
          Date.now() < until &&
          ((daemon.engine.lastHead?.number ?? 0n) < target || daemon.executor.inFlightCount() > 0)
        ) {
          await new Promise((resolve) => setTimeout(resolve, 2))
        }
        if ((daemon.engine.lastHead?.number ?? 0n) >= target && daemon.executor.inFlightCount() === 0) return
      }
      throw new Error('the daemon did not settle after 50 blocks')
    }
    return { devnet, daemon, mineAndWait }
  } catch (error) {
    await devnet.stop()
    throw error
  }
}
