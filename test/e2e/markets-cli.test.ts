/**
 * Real-market presets: `undertow markets` lists every Aave v3 market of @aave-dao/aave-address-book,
 * `--market NAME` takes the PoolAddressesProvider, chain id and multicall from it (so pointing
 * AaveV3Ethereum at a node of another chain is refused), and an unknown name is one line.
 */
import * as addressBook from '@aave-dao/aave-address-book'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnvilInstance, startAnvil } from '../../src/chain/startAnvil.js'
import { expectOneLineError, runCli } from '../support/helpers.js'

let anvil: AnvilInstance
beforeAll(async () => {
  anvil = await startAnvil()
})
afterAll(async () => anvil?.stop())

describe('market presets', () => {
  it('lists every Aave v3 market of the address book with its provider and chain', async () => {
    const result = await runCli(['markets', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const presets = JSON.parse(result.stdout) as {
      name: string
      chainId: number
      addressesProvider: string
    }[]
    const book = Object.entries(addressBook).filter(
      ([name, entry]) =>
        /^AaveV3[A-Z]/.test(name) && typeof entry === 'object' && 'POOL_ADDRESSES_PROVIDER' in entry,
    )
    expect(presets.map((p) => p.name).sort()).toEqual(book.map(([name]) => name).sort())
    const ethereum = presets.find((p) => p.name === 'AaveV3Ethereum')
    expect(ethereum).toMatchObject({
      chainId: 1,
      addressesProvider: addressBook.AaveV3Ethereum.POOL_ADDRESSES_PROVIDER,
      multicall: '0xcA11bde05977b3631167028862bE2a173976CA11',
    })
  })

  it('--market sets the chain the node must be on; unknown names and conflicts are one line', async () => {
    await expectOneLineError(
      ['accounts', '--market', 'AaveV3Ethereum', '--rpc', anvil.rpcUrl],
      /wrong chain: RPC http:\/\/127\.0\.0\.1:\d+ is chain 31337, configuration says 1/,
    )
    await expectOneLineError(
      ['accounts', '--market', 'AaveV3Atlantis', '--rpc', anvil.rpcUrl],
      /unknown market "AaveV3Atlantis"/,
    )
    await expectOneLineError(
      [
        'accounts',
        '--market',
        'AaveV3Base',
        '--addresses-provider',
        '0x0000000000000000000000000000000000000001',
        '--rpc',
        anvil.rpcUrl,
      ],
      /pass either --market or --addresses-provider, not both/,
    )
    await expectOneLineError(
      ['accounts', '--market', 'AaveV3Base', '--chain-id', '1', '--rpc', anvil.rpcUrl],
      /market AaveV3Base is on chain 8453, but the chain id is set to 1/,
    )
  })
})
