/**
 * The schema a saved clearinghouse mirror (snapshot or dataset) must match before it is used; a
 * truncated, edited or foreign one is discarded and rebuilt from logs.
 */
import { z } from 'zod'
import type { PerpsState } from './state.js'

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/)
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/)
const uint = z.bigint().nonnegative()

const band = z.strictObject({ notionalCap: uint, mmrBps: uint, imrBps: uint, mmAmount: uint, imAmount: uint })

export const perpsStateSchema = z.strictObject({
  clearinghouse: address,
  pyth: address,
  params: z.strictObject({ maxPriceAge: uint, bonusBps: uint, bufferBps: uint, minAccountMargin: uint }),
  insuranceFund: uint,
  updateFeeWei: uint,
  collaterals: z.array(
    z.strictObject({
      assetId: z.number().int().nonnegative(),
      token: address,
      symbol: z.string(),
      decimals: z.number().int().min(0).max(77),
      feedId: bytes32,
      baseHaircutBps: uint,
      volHaircutFactorBps: uint,
      maxHaircutBps: uint,
      volatilityBps: uint,
    }),
  ),
  markets: z.array(
    z.strictObject({
      marketId: z.number().int().nonnegative(),
      symbol: z.string(),
      feedId: bytes32,
      volMarginFactorBps: uint,
      volatilityBps: uint,
      fundingRatePerSecond: z.bigint(),
      fundingIndex: z.bigint(),
      lastFundingUpdate: uint,
      maxLiquidationNotional: uint,
      bands: z.array(band),
    }),
  ),
  expos: z.map(z.string(), z.number().int()),
  prices: z.map(z.string(), z.strictObject({ priceWad: z.bigint(), publishTime: uint })),
  accounts: z.map(
    z.string(),
    z.strictObject({
      balances: z.map(z.number().int(), uint),
      settlement: z.bigint(),
      positions: z.map(
        z.number().int(),
        z.strictObject({ size: z.bigint(), openNotional: z.bigint(), entryFundingIndex: z.bigint() }),
      ),
    }),
  ),
  block: z.strictObject({ number: uint, hash: bytes32, timestamp: uint }),
})

export function parsePerpsState(value: unknown): { state: PerpsState } | { error: string } {
  const result = perpsStateSchema.safeParse(value)
  if (result.success) return { state: result.data as PerpsState }
  const issue = result.error.issues[0]
  return { error: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` }
}
