/**
 * Real Aave v3 markets by name (`--market AaveV3Ethereum`), resolved from @aave-dao/aave-address-book
 * rather than hand-typed addresses: the PoolAddressesProvider, the chain it lives on (checked against
 * the node) and that chain's Multicall3 (from viem's chain list) for batched reads.
 */
import * as addressBook from '@aave-dao/aave-address-book'
import { type Address, type Chain, getAddress, isAddress } from 'viem'
import * as chains from 'viem/chains'

export interface MarketPreset {
  name: string
  chainId: number
  addressesProvider: Address
  multicall: Address | undefined
}

const multicallByChain = new Map<number, Address>()
for (const chain of Object.values(chains) as Chain[]) {
  const address = chain.contracts?.multicall3?.address
  if (address && !multicallByChain.has(chain.id)) multicallByChain.set(chain.id, getAddress(address))
}

/** Every Aave v3 market in the address book, by name, sorted. */
export function marketPresets(): MarketPreset[] {
  const out: MarketPreset[] = []
  for (const [name, entry] of Object.entries(addressBook)) {
    if (!/^AaveV3[A-Z]/.test(name) || typeof entry !== 'object' || entry === null) continue
    const { POOL_ADDRESSES_PROVIDER: provider, CHAIN_ID: chainId } = entry as Record<string, unknown>
    if (typeof provider !== 'string' || !isAddress(provider) || typeof chainId !== 'number') continue
    out.push({
      name,
      chainId,
      addressesProvider: getAddress(provider),
      multicall: multicallByChain.get(chainId),
    })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

export function findMarketPreset(name: string): MarketPreset | undefined {
  const wanted = name.toLowerCase()
  return marketPresets().find((preset) => preset.name.toLowerCase() === wanted)
}
