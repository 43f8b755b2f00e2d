/**
 * A mirror restored from a snapshot values gas at the configured wrapped native token, not at the
 * one the snapshot was written with: a reserve's price is already mirrored and is used; a token
 * whose price the snapshot does not hold cannot be valued offline, so the restore is refused with a
 * FatalError (the daemon then rebuilds from logs; a UsageError would stop it instead).
 */
import { describe, expect, it } from 'vitest'
import { syntheticMarket } from '../../bench/syntheticMarket.js'
import { FatalError, UsageError } from '../../src/errors.js'
import { createLogger } from '../../src/logger.js'
import { decodeState, encodeState } from '../../src/store/snapshotStore.js'
import { createAaveV3Strategy } from '../../strategies/aave-v3/strategy.js'

const OPTIONS = {
  addressesProvider: '0x0000000000000000000000000000000000000002',
  multicallAddress: '0x0000000000000000000000000000000000000005',
  fromBlock: 0n,
} as const

describe('restored Aave mirror and the wrapped native token', () => {
  const market = syntheticMarket(50, 3)
  const bySymbol = (symbol: string) =>
    [...market.reserves.values()].find((r) => r.symbol === symbol)?.asset as `0x${string}`
  const restore = (wrappedNative?: `0x${string}`) =>
    createAaveV3Strategy(
      { log: createLogger('silent') },
      { ...OPTIONS, ...(wrappedNative ? { wrappedNative } : {}) },
      { fromBlock: 0n, restored: decodeState(encodeState(market)) },
    )

  it('keeps the snapshot’s token when the configuration names none or the same one', async () => {
    expect(market.nativeAsset).toBe(bySymbol('WETH').toLowerCase())
    expect((await restore()).nativePriceBase()).toBe(market.prices.get(bySymbol('WETH').toLowerCase()))
    expect((await restore(bySymbol('WETH'))).nativePriceBase()).toBe(
      market.prices.get(bySymbol('WETH').toLowerCase()),
    )
  })

  it('switches to a configured reserve whose price the mirror holds', async () => {
    const wbtc = bySymbol('WBTC')
    const strategy = await restore(wbtc)
    expect(strategy.nativePriceBase()).toBe(market.prices.get(wbtc.toLowerCase()))
    expect(strategy.nativePriceBase()).not.toBe(market.prices.get(bySymbol('WETH').toLowerCase()))
  })

  it('refuses, so the daemon rebuilds, for a token whose price the snapshot lacks', async () => {
    const unknown = '0x00000000000000000000000000000000000000ee'
    const error = await restore(unknown).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FatalError)
    expect(error).not.toBeInstanceOf(UsageError)
    expect((error as Error).message).toMatch(/wrapped native/)
  })
})
