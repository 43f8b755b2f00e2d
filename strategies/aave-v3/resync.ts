/**
 * IO: re-reads accounts from the Pool and their tokens at the mirror's block, after the differential
 * check found them wrong: configuration, eMode, every scaled balance, and the data of every reserve
 * (indexes, rates, timestamps: what health depends on besides the balances). Batched; it never
 * guesses (prices are re-read too): a failed read throws and the mirror is left as it was.
 */
import type { Address, PublicClient } from 'viem'
import { readMany } from '../../src/chain/readMany.js'
import { FatalError } from '../../src/errors.js'
import { aaveOracleAbi, poolAbi, scaledTokenAbi } from './abi.js'
import type { RawReserveData } from './loadMarket.js'
import type { MarketState } from './state.js'

type RawReserve = Pick<
  RawReserveData,
  | 'liquidityIndex'
  | 'currentLiquidityRate'
  | 'variableBorrowIndex'
  | 'currentVariableBorrowRate'
  | 'currentStableBorrowRate'
  | 'lastUpdateTimestamp'
>

export async function resyncAccounts(
  client: PublicClient,
  market: MarketState,
  accounts: readonly string[],
  options: { multicallAddress?: Address | undefined },
): Promise<void> {
  const blockNumber = market.block.number
  const reserves = [...market.reserves.values()]
  const keys = accounts.map((a) => a.toLowerCase() as Address)
  const priced = [...market.prices.keys()] as Address[]
  const calls = [
    ...priced.map((asset) => ({
      address: market.oracle,
      abi: aaveOracleAbi,
      functionName: 'getAssetPrice',
      args: [asset],
    })),
    ...reserves.map((r) => ({
      address: market.pool,
      abi: poolAbi,
      functionName: 'getReserveData',
      args: [r.asset],
    })),
    ...keys.flatMap((account) => [
      { address: market.pool, abi: poolAbi, functionName: 'getUserConfiguration', args: [account] },
      { address: market.pool, abi: poolAbi, functionName: 'getUserEMode', args: [account] },
      ...reserves.flatMap((r) => [
        { address: r.aToken, abi: scaledTokenAbi, functionName: 'scaledBalanceOf', args: [account] },
        {
          address: r.variableDebtToken,
          abi: scaledTokenAbi,
          functionName: 'scaledBalanceOf',
          args: [account],
        },
      ]),
    ]),
  ]
  const results = await readMany(client, calls, { multicallAddress: options.multicallAddress, blockNumber })
  const failed = results.find((r) => r instanceof Error)
  if (failed) throw failed
  if (market.block.number !== blockNumber)
    throw new FatalError('the mirror moved while accounts were being resynced')
  priced.forEach((asset, i) => {
    market.prices.set(asset, results[i] as bigint)
  })
  const reserveBase = priced.length
  reserves.forEach((reserve, i) => {
    const data = results[reserveBase + i] as RawReserve
    reserve.liquidityIndex = data.liquidityIndex
    reserve.variableBorrowIndex = data.variableBorrowIndex
    reserve.liquidityRate = data.currentLiquidityRate
    reserve.variableBorrowRate = data.currentVariableBorrowRate
    reserve.stableBorrowRate = data.currentStableBorrowRate
    reserve.lastUpdateTimestamp = BigInt(data.lastUpdateTimestamp)
  })
  const per = 2 + reserves.length * 2
  keys.forEach((account, a) => {
    const base = reserveBase + reserves.length + a * per
    const config = (results[base] as { data: bigint }).data
    const eMode = Number(results[base + 1] as bigint)
    const previous = market.accounts.get(account)
    const scaledCollateral: bigint[] = []
    const scaledDebt: bigint[] = []
    reserves.forEach((reserve, r) => {
      scaledCollateral[reserve.id] = results[base + 2 + r * 2] as bigint
      scaledDebt[reserve.id] = results[base + 3 + r * 2] as bigint
    })
    market.accounts.set(account, {
      config,
      eMode,
      scaledCollateral,
      scaledDebt,
      // Stable debt (v3.0 only, never enabled on current markets) is kept from the events.
      ...(previous?.stable ? { stable: previous.stable } : {}),
    })
  })
}
