/**
 * The wrapped native token of a chain, so gas is valued at the price of what it is paid in: from the
 * address book's assets of every Aave market on that chain, matched to the native currency viem's
 * chain list names (WETH on Ethereum and its L2s, WAVAX, WPOL, WBNB, WXDAI, wS, WMNT; CELO and Metis,
 * whose native token is itself an ERC-20). Never by a reserve's symbol: bridged ETH on Avalanche is
 * "WETH.e", and Polygon's gas is not ETH.
 */
import * as addressBook from '@aave-dao/aave-address-book'
import { type Address, type Chain, getAddress, isAddress } from 'viem'
import * as chains from 'viem/chains'

const nativeSymbolByChain = new Map<number, string>()
for (const chain of Object.values(chains) as Chain[])
  if (!nativeSymbolByChain.has(chain.id)) nativeSymbolByChain.set(chain.id, chain.nativeCurrency.symbol)

export function wrappedNativeFor(chainId: number): Address | undefined {
  const symbol = nativeSymbolByChain.get(chainId)?.toLowerCase()
  if (!symbol) return undefined
  for (const [name, entry] of Object.entries(addressBook)) {
    if (!/^AaveV3[A-Z]/.test(name) || typeof entry !== 'object' || entry === null) continue
    const market = entry as { CHAIN_ID?: unknown; ASSETS?: Record<string, { UNDERLYING?: unknown }> }
    if (market.CHAIN_ID !== chainId) continue
    for (const [key, asset] of Object.entries(market.ASSETS ?? {})) {
      const k = key.toLowerCase()
      const underlying = asset.UNDERLYING
      if ((k === `w${symbol}` || k === symbol) && typeof underlying === 'string' && isAddress(underlying))
        return getAddress(underlying)
    }
  }
  return undefined
}
