/** Typed views of the generic demo, daemon and records for tests that run the Aave strategy. */

import type { Daemon } from '../../src/daemon.js'
import { type DemoRun, startDemo } from '../../src/demo.js'
import type { ExecutionRecord } from '../../src/executor/executor.js'
import type { AaveDevnet } from '../../strategies/aave-v3/devnet/index.js'
import type { AaveLiquidationEventDetails, AaveStrategy } from '../../strategies/aave-v3/strategy.js'
import { registry } from '../../strategies/index.js'

export type AaveDemoRun = DemoRun & { devnet: AaveDevnet }

export async function startAaveDemo(options: Parameters<typeof startDemo>[1] = {}): Promise<AaveDemoRun> {
  return (await startDemo(registry, options)) as AaveDemoRun
}

export function aaveStrategy(daemon: Daemon): AaveStrategy {
  return daemon.strategy as AaveStrategy
}

/** A landed Aave liquidation's amounts, from the receipt's LiquidationCall. */
export function aaveRecord(record: ExecutionRecord) {
  const d = record.event.details as unknown as AaveLiquidationEventDetails
  return {
    repayAsset: d.debtAsset,
    repaid: d.debtToCover,
    receiveAsset: d.collateralAsset,
    received: d.liquidatedCollateral,
  }
}
