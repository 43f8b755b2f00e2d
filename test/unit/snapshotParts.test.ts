/**
 * A large mirror's snapshot encoded a slice at a time: the same file as encoding it whole, events
 * keep running while it is encoded, a mirror that follows blocks meanwhile is written as of the
 * snapshot's block, and one rolled back meanwhile is not written at all.
 */
import { encodeAbiParameters, encodeEventTopics } from 'viem'
import { describe, expect, it } from 'vitest'
import { syntheticMarket } from '../../bench/syntheticMarket.js'
import { createLogger } from '../../src/logger.js'
import { decodeState, encodeParts, encodeState } from '../../src/store/snapshotStore.js'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import { createAaveV3Strategy } from '../../strategies/aave-v3/strategy.js'

const OPTIONS = {
  addressesProvider: '0x0000000000000000000000000000000000000002',
  multicallAddress: '0x0000000000000000000000000000000000000005',
  fromBlock: 0n,
} as const
const envelope = { meta: { format: 1, blockNumber: '1' } }

async function strategyOver(accounts: number) {
  const market = syntheticMarket(accounts, 5)
  return createAaveV3Strategy({ log: createLogger('silent') }, OPTIONS, {
    fromBlock: 0n,
    restored: decodeState(encodeState(market)),
  })
}

/** A one-log block from the Pool: `user` stops using `reserve` as collateral. */
function collateralDisabled(
  pool: `0x${string}`,
  reserve: `0x${string}`,
  user: `0x${string}`,
  number: bigint,
) {
  const hash = `0x${number.toString(16).padStart(64, '0')}` as const
  return {
    number,
    hash,
    parentHash: hash,
    timestamp: 1_700_000_700n,
    logs: [
      {
        address: pool,
        topics: encodeEventTopics({
          abi: poolAbi,
          eventName: 'ReserveUsedAsCollateralDisabled',
          args: { reserve, user },
        }) as `0x${string}`[],
        data: encodeAbiParameters([], []),
        blockNumber: number,
        blockHash: hash,
        logIndex: 0,
        transactionHash: hash,
        blockTimestamp: 1_700_000_700n,
      },
    ],
  }
}

describe('sliced snapshots', () => {
  it('encode to what encoding the whole state gives, yielding to events between slices', async () => {
    const strategy = await strategyOver(60_000)
    const parts = strategy.snapshotParts?.()
    if (!parts) throw new Error('the Aave strategy encodes its snapshot in slices')
    let ticks = 0
    const timer = setInterval(() => ticks++, 0)
    const text = await encodeParts(envelope, parts)
    clearInterval(timer)
    parts.release()
    expect(ticks).toBeGreaterThan(0)
    expect(decodeState(text)).toEqual(decodeState(encodeState({ ...envelope, state: strategy.snapshot() })))
  })

  it('hold the state of the snapshot block while the mirror follows later blocks', async () => {
    const strategy = await strategyOver(2_000)
    const market = strategy.market()
    const before = decodeState(encodeState(market))
    const [key, position] = [...market.accounts].find(([, p]) => p.config & 2n) ?? []
    const reserve = [...market.reserves.values()].find((r) => r.id === 0)
    if (!key || !position || !reserve) throw new Error('no account with collateral in reserve 0')
    const configBefore = position.config
    const parts = strategy.snapshotParts?.()
    if (!parts) throw new Error('the Aave strategy encodes its snapshot in slices')
    const block = collateralDisabled(market.pool, reserve.asset, key as `0x${string}`, 2n)
    await strategy.advance([block], { number: 2n, hash: block.hash, timestamp: block.timestamp })
    // The live mirror moved on; the snapshot did not.
    expect(market.accounts.get(key)?.config).toBe(configBefore & ~2n)
    const text = await encodeParts(envelope, parts)
    parts.release()
    expect((decodeState(text) as { state: unknown }).state).toEqual(before)
  })

  it('are abandoned when the mirror is rolled back meanwhile', async () => {
    const strategy = await strategyOver(500)
    const checkpoint = strategy.checkpoint()
    const parts = strategy.snapshotParts?.()
    if (!parts) throw new Error('the Aave strategy encodes its snapshot in slices')
    strategy.restoreCheckpoint(checkpoint)
    await expect(encodeParts(envelope, parts)).rejects.toThrow(/rolled back/)
  })
})
