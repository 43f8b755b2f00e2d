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

/** One account's position: the reference for `checkPosition`, which applies it by hand (below). */
export const positionSchema = z.strictObject({
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
  // Checked by hand after the rest (checkPosition): zod took ~330 ms for 100k accounts of a restart.
  accounts: z.custom<Map<string, unknown>>((v) => v instanceof Map, 'expected a Map'),
  block: z.strictObject({ number: uint, hash, timestamp: uint }),
})

/** The restored state, or undefined when it does not match (the caller says why and rebuilds). */
export function parseMarketState(value: unknown): { state: MarketState } | { error: string } {
  const result = marketStateSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    return { error: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` }
  }
  for (const [key, position] of result.data.accounts) {
    if (typeof key !== 'string') return { error: 'accounts: a key is not a string' }
    const problem = checkPosition(position)
    if (problem) return { error: `accounts.${key}.${problem}` }
  }
  return { state: result.data as MarketState }
}

const isUint = (v: unknown): boolean => typeof v === 'bigint' && v >= 0n
const isSmallInt = (v: unknown, max: number): boolean =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max

function checkBalances(v: unknown): boolean {
  if (!Array.isArray(v)) return false
  // Holes (sparse arrays) and nulls are both absent balances, as the schema's nullable().optional().
  for (let i = 0; i < v.length; i++) {
    const x = v[i]
    if (x !== null && x !== undefined && !isUint(x)) return false
  }
  return true
}

const POSITION_KEYS = new Set(['config', 'eMode', 'scaledCollateral', 'scaledDebt', 'stable'])
const STABLE_KEYS = new Set(['principal', 'rate', 'timestamp'])

/**
 * `positionSchema` applied by hand: undefined when `v` matches it, else the failing field. A unit
 * property holds the two to the same verdict.
 */
export function checkPosition(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Map)
    return '(root): expected an object'
  const o = v as Record<string, unknown>
  for (const key in o) if (!POSITION_KEYS.has(key)) return `${key}: unrecognized key`
  if (!isUint(o.config)) return 'config: expected a non-negative bigint'
  if (!isSmallInt(o.eMode, 255)) return 'eMode: expected an integer 0-255'
  if (!checkBalances(o.scaledCollateral)) return 'scaledCollateral: expected non-negative bigints'
  if (!checkBalances(o.scaledDebt)) return 'scaledDebt: expected non-negative bigints'
  if (o.stable === undefined) return undefined
  if (!(o.stable instanceof Map)) return 'stable: expected a Map'
  for (const [id, debt] of o.stable) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) return 'stable: expected integer keys'
    if (debt === null || typeof debt !== 'object' || Array.isArray(debt) || debt instanceof Map)
      return `stable.${id}: expected an object`
    const d = debt as Record<string, unknown>
    for (const key in d) if (!STABLE_KEYS.has(key)) return `stable.${id}.${key}: unrecognized key`
    if (!isUint(d.principal) || !isUint(d.rate) || !isUint(d.timestamp))
      return `stable.${id}: expected non-negative bigints`
  }
  return undefined
}
