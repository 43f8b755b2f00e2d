import { startDevnet } from './src/devnet/startDevnet.js'
import { poolAbi } from './strategies/aave-v3/abi.js'
const t0 = Date.now()
const d = await startDevnet({ accounts: 50, seed: 1 })
console.log('ready ms', Date.now() - t0)
for (const a of d.accounts.slice(0, 10)) {
  const r = await d.client.readContract({ address: d.addresses.pool, abi: poolAbi, functionName: 'getUserAccountData', args: [a] })
  console.log(a, Number(r[5]) / 1e18, Number(r[0]) / 1e8, Number(r[1]) / 1e8)
}
await d.stop()
