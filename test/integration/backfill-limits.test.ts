/**
 * Hosted nodes cap eth_getLogs ranges. Behind a node that refuses more than 16 blocks a query, the
 * mirror built from genesis and the daemon's gap backfill after a restart (hundreds of blocks later)
 * are still exact.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { devActions } from '../../src/chain/devActions.js'
import { httpClient } from '../../src/chain/rpc.js'
import { parseConfig } from '../../src/config.js'
import { startDaemon } from '../../src/daemon.js'
import { DEMO_LIQUIDATOR_KEY } from '../../src/demo.js'
import { createLogger } from '../../src/logger.js'
import { buildMirror } from '../../strategies/aave-v3/buildMirror.js'
import { setPrice } from '../../strategies/aave-v3/devnet/index.js'
import { verifyMirror } from '../../strategies/aave-v3/verifyMirror.js'
import { registry } from '../../strategies/index.js'
import { startAaveDemo } from '../support/aave.js'
import { startRangeLimitedRpc } from '../support/rangeLimitedRpc.js'

const quiet = () => createLogger('error', { pretty: false, destination: process.stderr })
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

describe('log backfill behind a range-limited node', () => {
  it('builds from genesis and backfills a long gap in chunks the node accepts, exactly', async () => {
    const run = await startAaveDemo({ log: quiet(), accounts: 30 })
    cleanups.push(() => run.stop())
    const limited = await startRangeLimitedRpc(run.devnet.rpcUrl, 16)
    cleanups.push(() => limited.close())
    const client = httpClient(limited.url, run.devnet.chainId)
    const multicall = run.devnet.addresses.batchReader

    const { market } = await buildMirror(client, {
      addressesProvider: run.devnet.addresses.addressesProvider,
      multicallAddress: multicall,
      fromBlock: 0n,
    })
    expect(market.block.number).toBeGreaterThan(100n)
    expect(limited.stats.refused).toBeGreaterThan(0)
    expect(market.accounts.size).toBeGreaterThanOrEqual(30)
    expect(
      (await verifyMirror(run.devnet.client, market, { multicallAddress: multicall })).mismatches,
    ).toEqual([])

    // The daemon, through the limited node: stop it, let 300 blocks with price moves pass, restart.
    await run.daemon.stop()
    const env = { UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY }
    const config = parseConfig(
      { devnet: run.devnetFile, rpcHttp: limited.url, dataDir: run.dataDir },
      env,
      registry,
    )
    const first = await startDaemon(config, env, quiet())
    await first.stop(5_000)
    const stoppedAt = first.strategy.head.number
    const dev = devActions(run.devnet.client)
    for (const [symbol, price] of [
      ['WETH', '1980'],
      ['WBTC', '39500'],
      ['wstETH', '2250'],
      ['LINK', '14.5'],
      ['DAI', '0.999'],
    ] as const) {
      await dev.mine({ blocks: 60 })
      await setPrice(run.devnet, symbol, price, run.devnet.client)
    }
    const refusedBefore = limited.stats.refused
    const daemon = await startDaemon(config, env, quiet())
    cleanups.push(() => daemon.stop(5_000))
    expect(daemon.startedFrom).toBe('snapshot')
    expect(daemon.strategy.head.number - stoppedAt).toBeGreaterThan(300n)
    expect(limited.stats.refused).toBeGreaterThan(refusedBefore)
    expect(await daemon.strategy.verify()).toMatchObject({ mismatches: [] })
  })
})
