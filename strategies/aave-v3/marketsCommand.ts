/** `undertow markets`: the Aave v3 market presets that --market accepts, from the address book. */
import type { Command } from 'commander'
import { renderTable } from '../../src/format.js'
import { marketPresets } from './marketPresets.js'

export function registerMarketsCommand(program: Command): void {
  program
    .command('markets')
    .description('list the Aave v3 markets --market accepts (from @aave-dao/aave-address-book)')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const presets = marketPresets()
      if (options.json) {
        console.log(JSON.stringify(presets, null, 2))
        return
      }
      console.log(
        renderTable(
          ['market', 'chain id', 'PoolAddressesProvider', 'multicall3'],
          presets.map((p) => [p.name, String(p.chainId), p.addressesProvider, p.multicall ?? '(none known)']),
          [false, true, false, false],
        ),
      )
    })
}
