/** Shared parsing of CLI values: every bad value becomes one clear line, never a silent default. */
import { InvalidArgumentError } from 'commander'
import { type Address, getAddress, isAddress } from 'viem'

export function parseIntegerOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`)
    const n = Number(value)
    if (n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got ${value}`)
    return n
  }
}

export function parseNumberOption(min: number) {
  return (value: string): number => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < min) {
      throw new InvalidArgumentError(`expected a number of at least ${min}, got "${value}"`)
    }
    return n
  }
}

export function parseAddressOption(value: string): Address {
  if (!isAddress(value, { strict: false })) throw new InvalidArgumentError(`not an address: "${value}"`)
  return getAddress(value)
}

export function parseBlockOption(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a block number, got "${value}"`)
  return BigInt(value)
}
