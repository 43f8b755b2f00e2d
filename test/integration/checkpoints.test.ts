/**
 * Reorg checkpoints as undo records: after blocks that change positions (new accounts included),
 * prices and reserves, restoring a checkpoint gives back exactly the mirror of that moment, and
 * replaying forward from it is exact against the chain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { advanceStrategy } from '../../src/chain/followChain.js'
import { createLogger } from '../../src/logger.js'
import {
  type AaveDevnet,
  DEVNET_LIQUIDITY_PROVIDER,
  setPrice,
  startAaveDevnet,
} from '../../strategies/aave-v3/devnet/index.js'
import { giveGas, supplyFrom } from '../../strategies/aave-v3/devnet/seedAccounts.js'
import { createAaveV3Strategy } from '../../strategies/aave-v3/strategy.js'

let devnet: AaveDevnet
beforeAll(async () => {
  devnet = await startAaveDevnet({ accounts: 20, seed: 2 })
})
afterAll(async () => devnet?.stop())

const head = async () => {
  const block = await devnet.client.getBlock()
  return { number: block.number, hash: block.hash, timestamp: block.timestamp }
}

describe('reorg checkpoints', () => {
  it('restore the exact mirror of their block, without cloning it', async () => {
    const strategy = await createAaveV3Strategy(
      { client: devnet.client, log: createLogger('silent') },
      {
        addressesProvider: devnet.addresses.addressesProvider,
        multicallAddress: devnet.addresses.batchReader,
        fromBlock: 0n,
      },
      { fromBlock: 0n },
    )
    const early = strategy.checkpoint()
    const atEarly = structuredClone(strategy.market())
    // A new account, an existing one changing, and a price.
    const newcomer = '0x000000000000000000000000000000000000c0de'
    await giveGas(devnet.client, newcomer)
    await supplyFrom(devnet.client, devnet.addresses, newcomer, 'WETH', 10n ** 18n)
    await supplyFrom(devnet.client, devnet.addresses, DEVNET_LIQUIDITY_PROVIDER, 'USDC', 10n ** 12n)
    await advanceStrategy(devnet.client, strategy, await head())
    const late = strategy.checkpoint()
    const atLate = structuredClone(strategy.market())
    await setPrice(devnet, 'WETH', '1800', devnet.client)
    await supplyFrom(devnet.client, devnet.addresses, newcomer, 'DAI', 10n ** 20n)
    await advanceStrategy(devnet.client, strategy, await head())
    expect(strategy.market().accounts.has(newcomer)).toBe(true)
    expect(strategy.market()).not.toEqual(atLate)

    strategy.restoreCheckpoint(late)
    expect(strategy.market()).toEqual(atLate)
    strategy.restoreCheckpoint(early)
    expect(strategy.market()).toEqual(atEarly)
    expect(strategy.market().accounts.has(newcomer)).toBe(false)

    // Forward again from the restored state: exact against the chain.
    await advanceStrategy(devnet.client, strategy, await head())
    expect(strategy.market().accounts.has(newcomer)).toBe(true)
    expect(await strategy.verify()).toMatchObject({ mismatches: [] })
  })
})
