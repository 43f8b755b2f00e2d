/**
 * Current Aave (aave-v3-origin 3.6) compiles from its npm sources with the solc npm package, and the
 * build is cached: the second build in a run, and every later run, reads the cache.
 */
import { describe, expect, it } from 'vitest'
import { buildOrigin } from '../../strategies/aave-v3/devnet/originArtifacts.js'

describe('aave-v3-origin build', () => {
  it('compiles the market contracts and their linked libraries, then serves them from the cache', () => {
    const first = buildOrigin()
    const pool = first.artifacts.PoolInstance
    const links = Object.values(pool.linkReferences)
      .flatMap((refs) => Object.keys(refs))
      .sort()
    expect(links).toEqual(['BorrowLogic', 'FlashLoanLogic', 'LiquidationLogic', 'PoolLogic', 'SupplyLogic'])
    // EIP-170: the runtime must fit in 24 KiB; the creation code is an upper bound on it.
    expect((pool.bytecode.length - 2) / 2).toBeLessThan(24_576 + 4_000)
    expect(pool.abi.some((item) => item.type === 'function' && item.name === 'liquidationCall')).toBe(true)
    for (const name of [
      'SupplyLogic',
      'ConfiguratorLogic',
      'AaveOracle',
      'DefaultReserveInterestRateStrategyV2',
    ] as const) {
      expect(first.artifacts[name].bytecode.length).toBeGreaterThan(100)
    }
    const second = buildOrigin()
    expect(second.compiled).toBe(false)
    expect(second.key).toBe(first.key)
    expect(second.artifacts.PoolInstance.bytecode).toBe(pool.bytecode)
  })
})
