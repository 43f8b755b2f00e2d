/**
 * The schema a saved Aave mirror (snapshot or dataset) must match before it is used: a file can be
 * truncated, edited or written by another version. Every field the math reads is checked, so a
 * restored mirror is a MarketState or it is discarded and rebuilt from logs.
 */
import { z } from 'zod'
import type { MarketState } from './state.js'

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/)
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/)
const uint = z.bigint().nonnegative()
/** Per-reserve balances: JSON turns the holes of a sparse array into nulls. */
const balances = z.array(uint.nullable().optional())

const reserve = z.strictObject({
  asset: address,
  symbol: z.string(),
  id: z.number().int().min(0).max(127),
  decimals: z.number().int().min(0).max(77),
  ltv: uint,
  liquidationThreshold: uint,
  liquidationBonus: uint,
  liquidationProtocolFee: uint,
  reserveFactor: uint,
  eModeCategory: z.number().int().min(0).max(255),
  active: z.boolean(),
  frozen: z.boolean(),
  paused: z.boolean(),
  borrowingEnabled: z.boolean(),
  stableBorrowingEnabled: z.boolean(),
  borrowableInIsolation: z.boolean(),
  debtCeiling: uint,
  liquidityIndex: uint,
  variableBorrowIndex: uint,
  liquidityRate: uint,
  variableBorrowRate: uint,
  stableBorrowRate: uint,
  lastUpdateTimestamp: uint,
  liquidationGracePeriodUntil: uint,
  aToken: address,
  variableDebtToken: address,
  stableDebtToken: address,
})

const eMode = z.strictObject({
  id: z.number().int().min(1).max(255),
  ltv: z.number().int().nonnegative(),
  liquidationThreshold: z.number().int().nonnegative(),
  liquidationBonus: z.number().int().nonnegative(),
  priceSource: address,
  label: z.string(),
  collateralBitmap: uint.optional(),
  ltvzeroBitmap: uint.optional(),
})

const adapterModel = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('ratio'),
    ratioDecimals: z.number().int().min(0).max(77),
    ratio: z.bigint(),
    baseAnswer: z.bigint(),
    snapshotRatio: uint,
    snapshotTimestamp: uint,
    growthPerSecond: uint,
  }),
  z.strictObject({ kind: z.literal('stable-cap'), baseAnswer: z.bigint(), cap: z.bigint() }),
  z.strictObject({ kind: z.literal('opaque') }),
])

const position = z.strictObject({
  config: uint,
  eMode: z.number().int().min(0).max(255),
  scaledCollateral: balances,
  scaledDebt: balances,
  stable: z
    .map(z.number().int(), z.strictObject({ principal: uint, rate: uint, timestamp: uint }))
    .optional(),
})

export const marketStateSchema = z.strictObject({
  pool: address,
  addressesProvider: address,
  oracle: address,
  configurator: address,
  poolRevision: uint,
  reserves: z.map(z.string(), reserve),
  tokens: z.map(
    z.string(),
    z.strictObject({
      reserveId: z.number().int(),
      asset: z.string(),
      kind: z.enum(['aToken', 'variableDebt', 'stableDebt']),
    }),
  ),
  eModes: z.map(z.number().int(), eMode),
  prices: z.map(z.string(), uint),
  sources: z.map(z.string(), z.array(z.string())),
  adapters: z.map(
    z.string(),
    z.strictObject({
      address: z.string(),
      assets: z.array(z.string()),
      baseFeed: z.string().optional(),
      baseFeedAliases: z.array(z.string()),
      model: adapterModel,
      modelAgrees: z.boolean(),
    }),
  ),
  nativeAsset: z.string().optional(),
  accounts: z.map(z.string(), position),
  block: z.strictObject({ number: uint, hash, timestamp: uint }),
})

/** The restored state, or undefined when it does not match (the caller says why and rebuilds). */
export function parseMarketState(value: unknown): { state: MarketState } | { error: string } {
  const result = marketStateSchema.safeParse(value)
  if (result.success) return { state: result.data as MarketState }
  const issue = result.error.issues[0]
  return { error: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` }
}
