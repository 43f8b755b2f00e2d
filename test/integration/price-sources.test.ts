/**
 * A reserve's price source replaced while the mirror runs (AaveOracle.setAssetSources): the adapter
 * behind wstETH becomes a plain aggregator, then an adapter again; each time the sources are
 * classified anew and the mirror's prices are the oracle's, exactly.
 */
import { parseAbi, parseUnits } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { advanceStrategy } from '../../src/chain/followChain.js'
import { callWrite, deployContract } from '../../src/chain/rpc.js'
import { helperContract } from '../../src/devnet/helperContracts.js'
import { createLogger } from '../../src/logger.js'
import {
  type AaveDevnet,
  DEVNET_ADMIN,
  oraclePrice,
  startAaveDevnet,
} from '../../strategies/aave-v3/devnet/index.js'
import { createAaveV3Strategy } from '../../strategies/aave-v3/strategy.js'

let devnet: AaveDevnet
beforeAll(async () => {
  devnet = await startAaveDevnet({ accounts: 15, seed: 4 })
})
afterAll(async () => devnet?.stop())

const setSources = parseAbi(['function setAssetSources(address[] assets, address[] sources)'])

describe('price source changes', () => {
  it('follow AssetSourceUpdated: reclassified, and the mirror keeps the oracle price', async () => {
    const c = devnet.client
    const strategy = await createAaveV3Strategy(
      { client: c, log: createLogger('silent') },
      {
        addressesProvider: devnet.addresses.addressesProvider,
        multicallAddress: devnet.addresses.batchReader,
        fromBlock: 0n,
      },
      { fromBlock: 0n },
    )
    const wst = devnet.addresses.reserves.wstETH
    if (!wst) throw new Error('no wstETH')
    const key = wst.asset.toLowerCase()
    const head = async () => {
      const b = await c.getBlock()
      return { number: b.number, hash: b.hash, timestamp: b.timestamp }
    }
    expect(strategy.market().adapters.get(wst.source.toLowerCase())?.model.kind).toBe('ratio')

    const aggregator = helperContract('SettableAggregator')
    const plain = await deployContract(
      c,
      DEVNET_ADMIN,
      aggregator.abi,
      aggregator.bytecode,
      [parseUnits('2111', 8), 8, 'wstETH / USD'],
      'feed',
    )
    await callWrite(c, DEVNET_ADMIN, devnet.addresses.oracle, setSources, 'setAssetSources', [
      [wst.asset],
      [plain],
    ])
    await advanceStrategy(c, strategy, await head())
    const market = strategy.market()
    expect(market.prices.get(key)).toBe(211_100_000_000n)
    expect(market.adapters.has(wst.source.toLowerCase())).toBe(false)
    expect(market.sources.get(plain.toLowerCase())).toEqual([key])
    expect(await strategy.verify()).toMatchObject({ mismatches: [] })

    // Back to the exchange-rate adapter: modelled again, the price is the oracle's.
    await callWrite(c, DEVNET_ADMIN, devnet.addresses.oracle, setSources, 'setAssetSources', [
      [wst.asset],
      [wst.source],
    ])
    await advanceStrategy(c, strategy, await head())
    expect(strategy.market().adapters.get(wst.source.toLowerCase())?.model.kind).toBe('ratio')
    expect(strategy.market().prices.get(key)).toBe(await oraclePrice(c, devnet, 'wstETH'))
    expect(await strategy.verify()).toMatchObject({ mismatches: [] })
  })
})
