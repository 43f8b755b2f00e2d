/** Devnet price input: a positive decimal USD price as an 8-decimal integer (aggregator answers, Pyth expo −8). */
import { parseUnits } from 'viem'
import { UsageError } from '../errors.js'

/** Parses a positive decimal price into its 8-decimal integer, or explains in one line what is wrong. */
export function parsePriceE8(price: string): bigint {
  if (!/^\d+(\.\d+)?$/.test(price.trim()))
    throw new UsageError(`price must be a positive decimal number, got "${price}"`)
  const [, fraction = ''] = price.trim().split('.')
  if (fraction.length > 8) throw new UsageError(`price has more than 8 decimals: "${price}"`)
  const value = parseUnits(price.trim(), 8)
  if (value <= 0n) throw new UsageError(`price must be greater than zero, got "${price}"`)
  return value
}
