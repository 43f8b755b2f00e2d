/**
 * A daemon snapshot for a live devnet with synthetic borrowers added: the devnet's own mirror (so
 * the daemon follows the chain from it) plus N synthetic accounts over the same reserve ids (the
 * synthetic market follows the devnet's reserve order). For figures at a scale no devnet seeds.
 */
import { createLogger } from '../src/logger.js'
import { saveSnapshot } from '../src/store/snapshotStore.js'
import type { AaveDevnet } from '../strategies/aave-v3/devnet/index.js'
import { aaveV3 } from '../strategies/aave-v3/index.js'
import type { AaveStrategy } from '../strategies/aave-v3/strategy.js'
import { syntheticMarket } from './syntheticMarket.js'

export async function writeSyntheticSnapshot(
  devnet: AaveDevnet,
  dataDir: string,
  accounts: number,
): Promise<void> {
  const options = {
    addressesProvider: devnet.addresses.addressesProvider,
    multicallAddress: devnet.addresses.batchReader,
    wrappedNative: devnet.addresses.reserves.WETH?.asset,
    fromBlock: 0n,
  }
  const strategy = (await aaveV3.create({ client: devnet.client, log: createLogger('silent') }, options, {
    fromBlock: 0n,
  })) as AaveStrategy
  const market = strategy.market()
  for (const [key, position] of syntheticMarket(accounts, 3, { healthy: true }).accounts)
    market.accounts.set(key, position)
  saveSnapshot(
    dataDir,
    {
      strategy: 'aave-v3',
      chainId: devnet.chainId,
      market: devnet.addresses.addressesProvider,
      blockNumber: market.block.number.toString(),
      blockHash: market.block.hash,
    },
    market,
  )
}
