/**
 * Differential verification: the mirror's account data against Pool.getUserAccountData for every
 * account, at the mirror's block, batched. Any difference in any field is a mismatch. The scaled
 * balances themselves can be compared too: account data is in base units (1e-8 of the currency), so
 * a few wei of drift in a balance would stay invisible there until it crossed a unit.
 */
import { type Address, getAddress, type PublicClient } from 'viem'
import { readMany } from '../../src/chain/readMany.js'
import { FatalError } from '../../src/errors.js'
import { poolAbi, scaledTokenAbi } from './abi.js'
import { type AccountData, createMarketView, userAccountData } from './math.js'
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
  // The mirror's side first, synchronously: the mirror may move on while the chain is read.
  const blockNumber = market.block.number
  const view = createMarketView(market, market.block.timestamp)
  const empty = { config: 0n, eMode: 0, scaledCollateral: [], scaledDebt: [] }
  const mirrored = accounts.map((account) =>
    userAccountData(view, market.accounts.get(account.toLowerCase()) ?? empty),
  )
  const results = await readMany(
    client,
    accounts.map((account) => ({
      address: market.pool,
      abi: poolAbi,
      functionName: 'getUserAccountData',
      args: [account],
    })),
    { multicallAddress: options.multicallAddress, blockNumber },
  )
  const mismatches: Mismatch[] = []
  accounts.forEach((account, i) => {
    const chain = results[i]
    if (chain instanceof Error || !Array.isArray(chain))
      throw chain instanceof Error ? chain : new FatalError('getUserAccountData returned no tuple')
    const mirror = mirrored[i] as AccountData
    FIELDS.forEach((field, f) => {
      const onChain = chain[f] as bigint
      if (mirror[field] !== onChain)
        mismatches.push({ account: getAddress(account), field, mirror: mirror[field], chain: onChain })
    })
  })
  return { blockNumber, checked: accounts.length, mismatches }
}

export interface BalanceMismatch {
  account: Address
  reserve: string
  kind: 'aToken' | 'variableDebt'
  mirror: bigint
  chain: bigint
}

/** Every account's scaled aToken and variable debt balance in every reserve against scaledBalanceOf. */
export async function verifyScaledBalances(
  client: PublicClient,
  market: MarketState,
  options: { multicallAddress?: Address | undefined } = {},
): Promise<{ checked: number; mismatches: BalanceMismatch[] }> {
  const reserves = [...market.reserves.values()]
  const accounts = [...market.accounts.keys()]
  const pairs = accounts.flatMap((account) =>
    reserves.flatMap((reserve) =>
      (['aToken', 'variableDebt'] as const).map((kind) => ({ account, reserve, kind })),
    ),
  )
  const results = await readMany(
    client,
    pairs.map(({ account, reserve, kind }) => ({
      address: kind === 'aToken' ? reserve.aToken : reserve.variableDebtToken,
      abi: scaledTokenAbi,
      functionName: 'scaledBalanceOf',
      args: [account],
    })),
    { multicallAddress: options.multicallAddress, blockNumber: market.block.number },
  )
  const mismatches: BalanceMismatch[] = []
  pairs.forEach(({ account, reserve, kind }, i) => {
    const chain = results[i]
    if (typeof chain !== 'bigint') throw chain instanceof Error ? chain : new Error('bad result')
    const position = market.accounts.get(account)
    const mirror =
      (kind === 'aToken' ? position?.scaledCollateral[reserve.id] : position?.scaledDebt[reserve.id]) ?? 0n
    if (mirror !== chain)
      mismatches.push({ account: getAddress(account), reserve: reserve.symbol, kind, mirror, chain })
  })
  return { checked: pairs.length, mismatches }
}
