/**
 * Seeds reproducible borrowers: a deep liquidity provider, then N accounts whose portfolios are drawn
 * from a seeded generator (several collaterals and debts, eMode users, isolated LINK borrowers), each
 * borrowing a different share of its limit so that health factors spread above and near 1.
 */
import { type Address, keccak256, type PublicClient, parseUnits, toHex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { devActions } from '../../../src/chain/devActions.js'
import { callWrite } from '../../../src/chain/rpc.js'
import { createRandom } from '../../../src/devnet/random.js'
import { erc20Abi, poolAbi } from '../abi.js'
import type { DevnetAddresses } from './deployAaveMarket.js'
import { DEVNET_EMODES, DEVNET_RESERVES, type ReserveSpec } from './marketSpec.js'

/** The i-th borrower's address for a seed; its key is derivable by anyone who knows the seed. */
export function seededAccount(seed: number, index: number): Address {
  return privateKeyToAddress(keccak256(toHex(`undertow-devnet:${seed}:${index}`)))
}

/** Token amount worth `usd` dollars at the spec price, floored, as a bigint in token units. */
export function usdToUnits(spec: ReserveSpec, usd: number): bigint {
  const tokens = usd / Number(spec.priceUsd)
  return parseUnits(tokens.toFixed(Math.min(spec.decimals, 12)), spec.decimals)
}

export type Profile = 'cross' | 'emode-stable' | 'emode-eth' | 'isolated'

export interface PlannedAccount {
  address: Address
  profile: Profile
  eMode: number
  supplies: { symbol: string; amount: bigint }[]
  borrows: { symbol: string; amount: bigint }[]
}

const bySymbol = (symbol: string): ReserveSpec => {
  const spec = DEVNET_RESERVES.find((r) => r.symbol === symbol)
  if (!spec) throw new Error(`unknown reserve ${symbol}`)
  return spec
}

function pick<T>(random: () => number, items: readonly T[], count: number): T[] {
  const pool = [...items]
  const out: T[] = []
  while (out.length < count && pool.length > 0)
    out.push(pool.splice(Math.floor(random() * pool.length), 1)[0] as T)
  return out
}

/** Pure: the portfolios for a seed. Borrowed share of the limit is drawn from [0.70, 0.995]. */
export function planAccounts(count: number, seed: number): PlannedAccount[] {
  const random = createRandom(seed)
  const profiles: Profile[] = ['cross', 'cross', 'emode-stable', 'emode-eth', 'isolated']
  const plans: PlannedAccount[] = []
  for (let i = 0; i < count; i++) {
    const profile = profiles[Math.floor(random() * profiles.length)] as Profile
    const valueUsd = 1_000 + Math.floor(random() * 199_000)
    let collaterals: string[]
    let debts: string[]
    let eMode = 0
    if (profile === 'emode-stable') {
      eMode = 1
      collaterals = pick(random, ['USDC', 'DAI'], 1 + Math.floor(random() * 2))
      debts = pick(random, ['USDC', 'DAI'], 1)
    } else if (profile === 'emode-eth') {
      eMode = 2
      collaterals = pick(random, ['wstETH', 'WETH'], 1 + Math.floor(random() * 2))
      debts = ['WETH']
    } else if (profile === 'isolated') {
      collaterals = ['LINK']
      debts = pick(random, ['USDC', 'DAI'], 1 + Math.floor(random() * 2))
    } else {
      collaterals = pick(random, ['WETH', 'WBTC', 'USDC', 'DAI', 'wstETH'], 1 + Math.floor(random() * 3))
      debts = pick(
        random,
        ['WETH', 'WBTC', 'USDC', 'DAI', 'wstETH'].filter((s) => !collaterals.includes(s)),
        1 + Math.floor(random() * 2),
      )
    }
    const category = DEVNET_EMODES.find((c) => c.id === eMode)
    let limitUsd = 0
    const supplies = collaterals.map((symbol) => {
      const spec = bySymbol(symbol)
      const usd = valueUsd / collaterals.length
      const inCategory = category !== undefined && spec.eModeCategory === eMode
      const ltv = inCategory ? category.ltvBps : spec.ltvBps
      // An eMode price source reprices the collateral (wstETH at the WETH price in category 2).
      const source = inCategory && category.priceSourceSymbol ? bySymbol(category.priceSourceSymbol) : spec
      limitUsd += (usd * (Number(source.priceUsd) / Number(spec.priceUsd)) * ltv) / 10_000
      return { symbol, amount: usdToUnits(spec, usd) }
    })
    const share = 0.7 + random() * 0.295
    const borrows = debts.map((symbol) => ({
      symbol,
      amount: usdToUnits(bySymbol(symbol), (limitUsd * share) / debts.length),
    }))
    plans.push({ address: seededAccount(seed, i), profile, eMode, supplies, borrows })
  }
  return plans
}

export async function seedLiquidity(
  client: PublicClient,
  addresses: DevnetAddresses,
  provider: Address,
): Promise<void> {
  for (const spec of DEVNET_RESERVES) {
    if (!spec.borrowingEnabled) continue
    await supplyFrom(client, addresses, provider, spec.symbol, usdToUnits(spec, 100_000_000))
  }
}

export async function supplyFrom(
  client: PublicClient,
  addresses: DevnetAddresses,
  from: Address,
  symbol: string,
  amount: bigint,
) {
  const reserve = addresses.reserves[symbol]
  if (!reserve) throw new Error(`unknown reserve ${symbol}`)
  await callWrite(client, from, reserve.asset, erc20Abi, 'mint', [from, amount])
  await callWrite(client, from, reserve.asset, erc20Abi, 'approve', [addresses.pool, 2n ** 256n - 1n])
  await callWrite(client, from, addresses.pool, poolAbi, 'supply', [reserve.asset, amount, from, 0])
}

/** Gives an impersonated actor 100 ETH for gas. */
export async function giveGas(client: PublicClient, address: Address): Promise<void> {
  await devActions(client).setBalance({ address, value: 10n ** 20n })
}

export async function executePlan(
  client: PublicClient,
  addresses: DevnetAddresses,
  plan: PlannedAccount,
): Promise<void> {
  await giveGas(client, plan.address)
  for (const supply of plan.supplies) {
    await supplyFrom(client, addresses, plan.address, supply.symbol, supply.amount)
    // Isolated collateral is never enabled automatically on supply (v3.0.2 ValidationLogic).
    if (bySymbol(supply.symbol).debtCeiling > 0n) {
      const asset = addresses.reserves[supply.symbol]?.asset
      if (asset)
        await callWrite(client, plan.address, addresses.pool, poolAbi, 'setUserUseReserveAsCollateral', [
          asset,
          true,
        ])
    }
  }
  if (plan.eMode > 0)
    await callWrite(client, plan.address, addresses.pool, poolAbi, 'setUserEMode', [plan.eMode])
  for (const borrow of plan.borrows) {
    const reserve = addresses.reserves[borrow.symbol]
    if (!reserve) throw new Error(`unknown reserve ${borrow.symbol}`)
    await callWrite(client, plan.address, addresses.pool, poolAbi, 'borrow', [
      reserve.asset,
      borrow.amount,
      2n,
      0,
      plan.address,
    ])
  }
}

/** Seeds accounts a few at a time: different senders never conflict on nonces under automine. */
export async function seedAccounts(
  client: PublicClient,
  addresses: DevnetAddresses,
  plans: readonly PlannedAccount[],
  concurrency = 8,
): Promise<void> {
  await client.request({ method: 'anvil_autoImpersonateAccount', params: [true] } as never)
  let next = 0
  const worker = async () => {
    for (;;) {
      const plan = plans[next++]
      if (!plan) return
      await executePlan(client, addresses, plan)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker))
}
