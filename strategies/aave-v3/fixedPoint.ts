/**
 * Fixed-point primitives with the rounding of Aave's WadRayMath and PercentageMath (half-up), plus
 * floor division. Pure bigint: anything that reaches the chain goes through here, never a `number`.
 */
export const WAD = 10n ** 18n
export const HALF_WAD = WAD / 2n
export const RAY = 10n ** 27n
export const HALF_RAY = RAY / 2n
export const PERCENTAGE_FACTOR = 10_000n
export const HALF_PERCENTAGE_FACTOR = 5_000n
export const MAX_UINT256 = 2n ** 256n - 1n
export const SECONDS_PER_YEAR = 365n * 24n * 3600n

export class MathOverflowError extends Error {
  override readonly name = 'MathOverflowError'
}

/** The contracts revert on uint256 overflow; so does the mirror, instead of silently diverging. */
function checkU256(value: bigint, op: string): bigint {
  if (value > MAX_UINT256) throw new MathOverflowError(`${op} overflows uint256`)
  return value
}

export function rayMul(a: bigint, b: bigint): bigint {
  if (a === 0n || b === 0n) return 0n
  return checkU256(a * b + HALF_RAY, 'rayMul') / RAY
}

export function rayDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new MathOverflowError('rayDiv by zero')
  return checkU256(a * RAY + b / 2n, 'rayDiv') / b
}

export function wadMul(a: bigint, b: bigint): bigint {
  if (a === 0n || b === 0n) return 0n
  return checkU256(a * b + HALF_WAD, 'wadMul') / WAD
}

export function wadDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new MathOverflowError('wadDiv by zero')
  return checkU256(a * WAD + b / 2n, 'wadDiv') / b
}

export function percentMul(value: bigint, percentage: bigint): bigint {
  if (value === 0n || percentage === 0n) return 0n
  return checkU256(value * percentage + HALF_PERCENTAGE_FACTOR, 'percentMul') / PERCENTAGE_FACTOR
}

export function percentDiv(value: bigint, percentage: bigint): bigint {
  if (percentage === 0n) throw new MathOverflowError('percentDiv by zero')
  return checkU256(value * PERCENTAGE_FACTOR + percentage / 2n, 'percentDiv') / percentage
}

/** floor(a * b / c), the contracts' plain `a * b / c` on uint256. */
export function mulDivDown(a: bigint, b: bigint, c: bigint): bigint {
  return checkU256(a * b, 'mulDiv') / c
}

// Directed rounding (aave-v3-origin v3.5+: WadRayMath *Floor/*Ceil, PercentageMath, MathUtils).
// The contracts check the product `a * b` (not `a * b + half`) for overflow in these variants.

const ceilDiv = (n: bigint, d: bigint) => n / d + (n % d === 0n ? 0n : 1n)

export function rayMulFloor(a: bigint, b: bigint): bigint {
  return checkU256(a * b, 'rayMulFloor') / RAY
}

export function rayMulCeil(a: bigint, b: bigint): bigint {
  return ceilDiv(checkU256(a * b, 'rayMulCeil'), RAY)
}

export function rayDivFloor(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new MathOverflowError('rayDivFloor by zero')
  return checkU256(a * RAY, 'rayDivFloor') / b
}

export function rayDivCeil(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new MathOverflowError('rayDivCeil by zero')
  return ceilDiv(checkU256(a * RAY, 'rayDivCeil'), b)
}

/** MathUtils.mulDivCeil: ceil(a * b / c). */
export function mulDivCeil(a: bigint, b: bigint, c: bigint): bigint {
  if (c === 0n) throw new MathOverflowError('mulDivCeil by zero')
  return ceilDiv(checkU256(a * b, 'mulDivCeil'), c)
}

export function percentMulFloor(value: bigint, percentage: bigint): bigint {
  return checkU256(value * percentage, 'percentMulFloor') / PERCENTAGE_FACTOR
}

export function percentDivCeil(value: bigint, percentage: bigint): bigint {
  if (percentage === 0n) throw new MathOverflowError('percentDivCeil by zero')
  return ceilDiv(checkU256(value * PERCENTAGE_FACTOR, 'percentDivCeil'), percentage)
}
