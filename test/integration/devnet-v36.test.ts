/**
 * The current Aave (aave-v3-origin 3.6, compiled from npm sources) on the devnet: same reserves and
 * borrowers as the 3.0 market, eMode by bitmaps, a liquidation after a price move; the mirror
 * verifies against it, and refuses, in one line, a Pool revision whose rules it does not know.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { maxUint256, parseAbi, parseEventLogs, parseUnits } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { advanceStrategy } from '../../src/chain/followChain.js'
import { callWrite, deployContract } from '../../src/chain/rpc.js'
import { devnetInfo } from '../../src/devnet/devnetFile.js'
import { helperContract } from '../../src/devnet/helperContracts.js'
import { createLogger } from '../../src/logger.js'
import { erc20Abi, poolAbi } from '../../strategies/aave-v3/abi.js'
import {
  DEVNET_ADMIN,
  type AaveDevnet as Devnet,
  setPrice,
  startAaveDevnet,
} from '../../strategies/aave-v3/devnet/index.js'
import { giveGas, seededAccount, supplyFrom } from '../../strategies/aave-v3/devnet/seedAccounts.js'
import { createAaveV3Strategy } from '../../strategies/aave-v3/strategy.js'
import { expectOneLineError, runCli } from '../support/helpers.js'

let devnet: Devnet
beforeAll(async () => {
  devnet = await startAaveDevnet({ accounts: 30, seed: 1, aave: '3.6' })
})
afterAll(async () => devnet?.stop())

const eModeAbi = parseAbi([
  'function getEModeCategoryCollateralBitmap(uint8 id) view returns (uint128)',
  'function getEModeCategoryBorrowableBitmap(uint8 id) view returns (uint128)',
])

describe('Aave 3.6 devnet', () => {
  it('is revision 10, with seeded borrowers and eMode bitmaps', async () => {
    const c = devnet.client
    expect(
      await c.readContract({ address: devnet.addresses.pool, abi: poolAbi, functionName: 'POOL_REVISION' }),
    ).toBe(10n)
    const hfs = await Promise.all(
      devnet.accounts.map(
        async (a) =>
          (
            await c.readContract({
              address: devnet.addresses.pool,
              abi: poolAbi,
              functionName: 'getUserAccountData',
              args: [a],
            })
          )[5],
      ),
    )
    expect(hfs.every((hf) => hf > 10n ** 18n && hf < 3n * 10n ** 18n)).toBe(true)
    const idOf = async (symbol: string) =>
      (
        await c.readContract({
          address: devnet.addresses.pool,
          abi: poolAbi,
          functionName: 'getReserveData',
          args: [devnet.addresses.reserves[symbol]?.asset as `0x${string}`],
        })
      ).id
    const stables = await c.readContract({
      address: devnet.addresses.pool,
      abi: eModeAbi,
      functionName: 'getEModeCategoryCollateralBitmap',
      args: [1],
    })
    expect(stables).toBe((1n << BigInt(await idOf('USDC'))) | (1n << BigInt(await idOf('DAI'))))
    const ethBorrowable = await c.readContract({
      address: devnet.addresses.pool,
      abi: eModeAbi,
      functionName: 'getEModeCategoryBorrowableBitmap',
      args: [2],
    })
    expect(ethBorrowable).toBe((1n << BigInt(await idOf('WETH'))) | (1n << BigInt(await idOf('wstETH'))))
  })

  it('liquidates after a price move through the aggregator', async () => {
    const c = devnet.client
    const user = seededAccount(3636, 0)
    const liquidator = seededAccount(3636, 1)
    await c.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
    await giveGas(c, user)
    await giveGas(c, liquidator)
    const r = (s: string) =>
      devnet.addresses.reserves[s] as NonNullable<(typeof devnet.addresses.reserves)[string]>
    await supplyFrom(c, devnet.addresses, user, 'WETH', parseUnits('10', 18))
    await callWrite(c, user, devnet.addresses.pool, poolAbi, 'borrow', [
      r('USDC').asset,
      parseUnits('15500', 6),
      2n,
      0,
      user,
    ])
    await setPrice(devnet, 'WETH', '1800', c)
    expect(
      (
        await c.readContract({
          address: devnet.addresses.pool,
          abi: poolAbi,
          functionName: 'getUserAccountData',
          args: [user],
        })
      )[5],
    ).toBeLessThan(10n ** 18n)
    await callWrite(c, DEVNET_ADMIN, r('USDC').asset, erc20Abi, 'mint', [liquidator, parseUnits('100000', 6)])
    await callWrite(c, liquidator, r('USDC').asset, erc20Abi, 'approve', [devnet.addresses.pool, maxUint256])
    const receipt = await callWrite(c, liquidator, devnet.addresses.pool, poolAbi, 'liquidationCall', [
      r('WETH').asset,
      r('USDC').asset,
      user,
      maxUint256,
      false,
    ])
    const [event] = parseEventLogs({ abi: poolAbi, eventName: 'LiquidationCall', logs: receipt.logs })
    expect(event?.args.user).toBe(user)
    // Position above the 2000-unit base threshold with HF > 0.95: v3.3+ keeps the 50% close factor.
    expect(event?.args.debtToCover).toBeGreaterThan(parseUnits('7700', 6))
    expect(event?.args.debtToCover).toBeLessThan(parseUnits('7800', 6))
    expect(
      await c.readContract({
        address: r('WETH').asset,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [liquidator],
      }),
    ).toBe(event?.args.liquidatedCollateralAmount)
  })

  it('is mirrored exactly (accounts --verify), and an unknown revision is refused in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'undertow-v36-'))
    const file = join(dir, 'devnet.json')
    writeFileSync(file, JSON.stringify(devnetInfo(devnet)))
    const verified = await runCli(['accounts', '--devnet', file, '--verify'])
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.stderr).toMatch(/verified \d+ accounts at block \d+: 0 mismatches/)

    const probe = helperContract('RevisionProbe')
    const deployProbe = (revision: bigint) =>
      deployContract(devnet.client, DEVNET_ADMIN, probe.abi, probe.bytecode, [revision], 'RevisionProbe')
    for (const [revision, message] of [
      [
        9n,
        /Aave Pool revision 9 at 0x[0-9a-fA-F]{40} is not supported \(known: v3\.0 \(revision 1, 2\), v3\.6 \(revision 10\)\)/,
      ],
      [10n, /reports revision 10 \(v3\.6\) but does not answer getEModeCategoryCollateralBitmap/],
    ] as const) {
      const provider = await deployProbe(revision)
      const info = { ...devnetInfo(devnet), addresses: { ...devnet.addresses, addressesProvider: provider } }
      writeFileSync(file, JSON.stringify(info))
      await expectOneLineError(['accounts', '--devnet', file], message)
    }
  })

  // Last: it replaces this devnet's Pool implementation.
  it('notices a Pool proxy upgrade: the revision is probed again and an unknown one refused', async () => {
    const strategy = await createAaveV3Strategy(
      { client: devnet.client, log: createLogger('silent') },
      {
        addressesProvider: devnet.addresses.addressesProvider,
        multicallAddress: devnet.addresses.batchReader,
        fromBlock: 0n,
      },
      { fromBlock: 0n },
    )
    const probe = helperContract('RevisionProbe')
    const implementation = await deployContract(
      devnet.client,
      DEVNET_ADMIN,
      probe.abi,
      probe.bytecode,
      [9n],
      'RevisionProbe',
    )
    const receipt = await callWrite(
      devnet.client,
      DEVNET_ADMIN,
      devnet.addresses.addressesProvider,
      parseAbi(['function setPoolImpl(address newPoolImpl)']),
      'setPoolImpl',
      [implementation],
    )
    const block = await devnet.client.getBlock({ blockNumber: receipt.blockNumber })
    const head = { number: block.number, hash: block.hash, timestamp: block.timestamp }
    await expect(advanceStrategy(devnet.client, strategy, head)).rejects.toThrow(
      /Aave Pool revision 9 at 0x[0-9a-fA-F]{40} is not supported/,
    )
  })
})
