/**
 * The xmargin-perps strategy module: its `market` config section (`clearinghouse`, `priceService`,
 * `fromBlock`, `multicall`) and flags, the running strategy, its devnet (contracts, Hermes price
 * service, pusher, seeded traders) and fork preparation (none needed: the reward is margin).
 */
import { getAddress, isAddress } from 'viem'
import { z } from 'zod'
import { UsageError } from '../../src/errors.js'
import type { StrategyModule } from '../../src/strategyModule.js'
import { perpsAddresses, perpsDevnet } from './devnet/index.js'
import { STRATEGY_NAME } from './plan.js'
import { createPerpsStrategy, type PerpsOptions } from './strategy.js'

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), 'not an address')
  .transform((v) => getAddress(v))

const marketSchema = z.strictObject({
  clearinghouse: address.optional(),
  /** Hermes endpoint of the price stream (e.g. https://hermes.pyth.network). */
  priceService: z
    .string()
    .regex(/^https?:\/\/./, 'expected an http(s):// URL')
    .optional(),
  fromBlock: z
    .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, 'expected a block number')])
    .transform((v) => BigInt(v))
    .optional(),
  multicall: address.optional(),
})
type Section = z.output<typeof marketSchema>

const asString = (v: unknown) => (typeof v === 'string' ? v : undefined)

/** Names from the devnet file, for people. */
const devnetSymbols = (
  markets: Record<string, { marketId: number }>,
  collaterals: Record<string, { asset: string }>,
) => ({
  collaterals: Object.fromEntries(
    Object.entries(collaterals).map(([symbol, c]) => [c.asset.toLowerCase(), symbol]),
  ),
  markets: Object.fromEntries(Object.entries(markets).map(([symbol, m]) => [String(m.marketId), symbol])),
})

export const xmarginPerps: StrategyModule<PerpsOptions> = {
  name: STRATEGY_NAME,
  description: 'cross-margin perpetuals clearinghouse (portfolio margin, tiered MM, Pyth pull oracle)',
  marketSchema,
  flags: [
    { flags: '--clearinghouse <address>', description: 'the clearinghouse contract', name: 'clearinghouse' },
    {
      flags: '--price-service <url>',
      description: 'Hermes endpoint for the off-chain price stream',
      name: 'priceService',
    },
  ],
  resolveTarget({ section: raw, flags, devnet, fromBlock }) {
    const section = (raw ?? {}) as Section
    const dev = devnet ? perpsAddresses(devnet.info) : undefined
    const fromFlag = devnet?.rank === 'flag'
    const clearinghouse =
      asString(flags.clearinghouse) ??
      (fromFlag ? dev?.clearinghouse : undefined) ??
      section.clearinghouse ??
      dev?.clearinghouse
    if (!clearinghouse)
      throw new UsageError(
        'no clearinghouse: pass --clearinghouse, set market.clearinghouse, or use --devnet FILE',
      )
    if (!isAddress(clearinghouse, { strict: false }))
      throw new UsageError(`--clearinghouse is not an address: "${clearinghouse}"`)
    const priceService =
      asString(flags.priceService) ??
      (fromFlag ? devnet?.info.priceServiceUrl : undefined) ??
      section.priceService ??
      devnet?.info.priceServiceUrl
    if (priceService !== undefined && !/^https?:\/\/./.test(priceService))
      throw new UsageError(`--price-service is not an http(s):// URL: "${priceService}"`)
    const start = fromBlock ?? (fromFlag ? 0n : undefined) ?? section.fromBlock ?? 0n
    const options: PerpsOptions = {
      clearinghouse: getAddress(clearinghouse),
      multicallAddress: (fromFlag ? dev?.batchReader : undefined) ?? section.multicall ?? dev?.batchReader,
      symbols: dev ? devnetSymbols(dev.markets, dev.collaterals) : undefined,
      fromBlock: start,
      priceService,
    }
    return { options, id: getAddress(clearinghouse), fromBlock: start }
  },
  create: (context, options, start) => createPerpsStrategy(context, options, start),
  devnet: perpsDevnet,
  backtest: {
    // liquidate() needs no inventory: the reward is credited as margin, the update fee is call value.
    async prepareFork() {},
  },
}
