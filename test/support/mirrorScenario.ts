/**
 * The mirror's exactness on a randomized history, for one Aave version: seeded borrowers, thousands
 * of operations of every kind, prices and time moving; at many blocks along the way every account's
 * mirror equals Pool.getUserAccountData in every field, and every liquidation's outcome (amounts,
 * deficit, or the revert) equals the mirror's prediction.
 */
import { expect } from 'vitest'
import { advanceMirror, buildMirror } from '../../strategies/aave-v3/buildMirror.js'
import { type AaveVersion, startAaveDevnet } from '../../strategies/aave-v3/devnet/index.js'
import { giveGas, seededAccount } from '../../strategies/aave-v3/devnet/seedAccounts.js'
import { verifyMirror, verifyScaledBalances } from '../../strategies/aave-v3/verifyMirror.js'
import { createScenario, type ScenarioStats } from './scenario.js'

export interface MirrorScenarioResult {
  stats: ScenarioStats
  checkpoints: number
  accountsChecked: number
}

export async function runMirrorScenario(params: {
  aave: AaveVersion
  accounts: number
  seed: number
  steps: number
  checkEvery: number
}): Promise<MirrorScenarioResult> {
  const devnet = await startAaveDevnet({ accounts: params.accounts, seed: params.seed, aave: params.aave })
  try {
    const addresses = {
      addressesProvider: devnet.addresses.addressesProvider,
      multicallAddress: devnet.addresses.batchReader,
    }
    const { market } = await buildMirror(devnet.client, { ...addresses, fromBlock: 0n })
    const initial = await verifyMirror(devnet.client, market, addresses)
    expect(initial.checked).toBeGreaterThanOrEqual(params.accounts + 1)
    expect(initial.mismatches).toEqual([])

    const liquidator = seededAccount(424242, 0)
    await giveGas(devnet.client, liquidator)
    const scenario = createScenario(devnet, () => market, params.seed + 4, liquidator)
    let checkpoints = 0
    for (let i = 1; i <= params.steps; i++) {
      await scenario.step()
      // The liquidation step reads the mirror, so keep it current every step (one eth_getLogs).
      await advanceMirror(
        devnet.client,
        market,
        await devnet.client.getBlockNumber({ cacheTime: 0 }),
        addresses,
      )
      if (i % params.checkEvery === 0) {
        const result = await verifyMirror(devnet.client, market, addresses)
        checkpoints++
        expect(result.mismatches, `checkpoint at block ${result.blockNumber}`).toEqual([])
        const balances = await verifyScaledBalances(devnet.client, market, addresses)
        expect(balances.mismatches, `scaled balances at block ${result.blockNumber}`).toEqual([])
      }
    }
    const final = await verifyMirror(devnet.client, market, addresses)
    expect(final.mismatches).toEqual([])
    return { stats: scenario.stats, checkpoints, accountsChecked: final.checked }
  } finally {
    await devnet.stop()
  }
}
