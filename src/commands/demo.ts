/**
 * `undertow demo` (npm run demo): the main job on an embedded devnet. Deploys the market, seeds 50
 * borrowers, moves prices with real oracle transactions and reports every account's on-chain health.
 */
import type { Command } from 'commander'
import { type Address, getAddress } from 'viem'
import { poolAbi } from '../../strategies/aave-v3/abi.js'
import { setPrice, startDevnet } from '../devnet/startDevnet.js'
import { formatHealthFactor, formatUnitsFixed, renderTable } from '../format.js'

const WAD = 10n ** 18n

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run Undertow end to end on an embedded devnet (50 seeded borrowers, a price shock)')
    .action(async () => {
      const devnet = await startDevnet({ accounts: 50, seed: 1 })
      try {
        console.log(
          `devnet: ${devnet.rpcUrl}, Aave v3 pool ${devnet.addresses.pool}, ${devnet.accounts.length} borrowers`,
        )
        console.log(
          'price shock: WETH 2000 → 1500, WBTC 40000 → 31000, LINK 15 → 11, USDC 1 → 0.985 (oracle transactions)',
        )
        await setPrice(devnet, 'WETH', '1500', devnet.client)
        await setPrice(devnet, 'WBTC', '31000', devnet.client)
        await setPrice(devnet, 'LINK', '11', devnet.client)
        await setPrice(devnet, 'USDC', '0.985', devnet.client)
        const rows = await Promise.all(
          devnet.accounts.map(async (account: Address) => {
            const data = await devnet.client.readContract({
              address: devnet.addresses.pool,
              abi: poolAbi,
              functionName: 'getUserAccountData',
              args: [account],
            })
            return { account: getAddress(account), collateral: data[0], debt: data[1], hf: data[5] }
          }),
        )
        rows.sort((a, b) => (a.hf < b.hf ? -1 : a.hf > b.hf ? 1 : 0))
        console.log(
          renderTable(
            ['account', 'collateral USD', 'debt USD', 'health factor', 'status'],
            rows.map((r) => [
              r.account,
              formatUnitsFixed(r.collateral, 8),
              formatUnitsFixed(r.debt, 8),
              formatHealthFactor(r.hf),
              r.hf < WAD ? 'LIQUIDATABLE' : '',
            ]),
            [false, true, true, true, false],
          ),
        )
        const underwater = rows.filter((r) => r.hf < WAD).length
        console.log(`${underwater} of ${rows.length} accounts are liquidatable after the shock`)
      } finally {
        await devnet.stop()
      }
    })
}
