/**
 * The registry: the one place that lists the strategies. The CLI hands it to the config, the
 * daemon, the devnet and the backtest, which find a protocol here by name and know nothing else.
 */
import { UsageError } from '../src/errors.js'
import { registerable, type StrategyModule, type StrategyRegistry } from '../src/strategyModule.js'
import { aaveV3 } from './aave-v3/index.js'
import { xmarginPerps } from './xmargin-perps/index.js'

const modules: readonly StrategyModule<unknown>[] = [registerable(aaveV3), registerable(xmarginPerps)]

export const registry: StrategyRegistry = {
  modules,
  defaultName: aaveV3.name,
  find(name, what = 'strategy') {
    const module = modules.find((m) => m.name === name)
    if (!module)
      throw new UsageError(`unknown ${what} "${name}" (available: ${modules.map((m) => m.name).join(', ')})`)
    return module
  },
}
