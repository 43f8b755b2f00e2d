/**
 * Differential verification: the mirror's account data against Pool.getUserAccountData for every
 * account, at the mirror's block, batched. Any difference in any field is a mismatch.
 */
import { type Address, getAddress, type PublicClient } from 'viem'
import { readMany } from '../../src/chain/readMany.js'
import { poolAbi } from './abi.js'
import { type AccountData, createMarketView, userAccountData } from './math.js'
import { rulesForRevision } from './rules.js'
import type { MarketState } from './state.js'

export interface Mismatch {
  account: Address
  field: keyof AccountData
  mirror: bigint
  chain: bigint
}

export interface VerifyResult {
  blockNumber: bigint
  checked: number
  mismatches: Mismatch[]
}

const FIELDS: (keyof AccountData)[] = [
  'totalCollateralBase',
  'totalDebtBase',
  'availableBorrowsBase',
  'currentLiquidationThreshold',
  'ltv',
  'healthFactor',
]

export async function verifyMirror(
  client: PublicClient,
  market: MarketState,
  options: { multicallAddress?: Address | undefined; accounts?: string[] } = {},
): Promise<VerifyResult> {
  const accounts = options.accounts ?? [...market.accounts.keys()]
  const view = createMarketView(market, market.block.timestamp, rulesForRevision(market.poolRevision))
  const results = await readMany(
    client,
    accounts.map((account) => ({
      address: market.pool,
      abi: poolAbi,
      functionName: 'getUserAccountData',
      args: [account],
    })),
    { multicallAddress: options.multicallAddress, blockNumber: market.block.number },
  )
  const mismatches: Mismatch[] = []
  accounts.forEach((account, i) => {
    const chain = results[i]
    if (chain instanceof Error || !Array.isArray(chain))
      throw chain instanceof Error ? chain : new Error('bad result')
    const position = market.accounts.get(account.toLowerCase())
    const mirror = position
      ? userAccountData(view, position)
      : userAccountData(view, { config: 0n, eMode: 0, scaledCollateral: [], scaledDebt: [] })
    FIELDS.forEach((field, f) => {
      const onChain = chain[f] as bigint
      if (mirror[field] !== onChain)
        mismatches.push({ account: getAddress(account), field, mirror: mirror[field], chain: onChain })
    })
  })
  return { blockNumber: market.block.number, checked: accounts.length, mismatches }
}
