import { describe, expect, it } from 'vitest'
import {
  HALF_RAY,
  MAX_UINT256,
  MathOverflowError,
  mulDivDown,
  percentDiv,
  percentMul,
  RAY,
  rayDiv,
  rayMul,
  WAD,
  wadDiv,
} from '../../strategies/aave-v3/fixedPoint.js'

describe('WadRayMath / PercentageMath rounding', () => {
  it('rayMul rounds half up', () => {
    expect(rayMul(1n, HALF_RAY)).toBe(1n)
    expect(rayMul(1n, HALF_RAY - 1n)).toBe(0n)
    expect(rayMul(3n, RAY / 2n)).toBe(2n) // 1.5 → 2
    expect(rayMul(5n * RAY, 3n * RAY)).toBe(15n * RAY)
  })

  it('rayDiv rounds half up on half the divisor', () => {
    expect(rayDiv(1n, 2n * RAY)).toBe(1n) // 0.5 → 1
    expect(rayDiv(1n, 2n * RAY + 1n)).toBe(0n)
    expect(rayDiv(10n * RAY, 4n * RAY)).toBe((10n * RAY) / 4n)
  })

  it('percentMul and percentDiv round half up; zero percentage gives zero', () => {
    expect(percentMul(1n, 5000n)).toBe(1n) // 0.5 → 1
    expect(percentMul(1n, 4999n)).toBe(0n)
    expect(percentMul(123456789n, 0n)).toBe(0n)
    expect(percentDiv(1n, 20000n)).toBe(1n) // 0.5 → 1
    expect(percentDiv(105n, 10500n)).toBe(100n)
  })

  it('wadDiv matches the health factor formula', () => {
    expect(wadDiv(1n, 1n)).toBe(WAD)
    expect(wadDiv(2n, 3n)).toBe((2n * WAD + 1n) / 3n)
  })

  it('reverts where the contracts revert: overflow and division by zero', () => {
    expect(() => rayMul(MAX_UINT256, 2n)).toThrow(MathOverflowError)
    expect(() => rayDiv(1n, 0n)).toThrow(MathOverflowError)
    expect(() => wadDiv(MAX_UINT256, 1n)).toThrow(MathOverflowError)
    expect(() => percentMul(MAX_UINT256, 2n)).toThrow(MathOverflowError)
    expect(() => mulDivDown(MAX_UINT256, 2n, 1n)).toThrow(MathOverflowError)
  })

  it('handles values near the top of uint256 without overflow where Solidity does not overflow', () => {
    const big = (MAX_UINT256 - HALF_RAY) / RAY
    expect(rayMul(big, RAY)).toBe(big)
    expect(mulDivDown(2n ** 200n, 2n ** 50n, 2n ** 100n)).toBe(2n ** 150n)
  })
})

describe('errorText', () => {
  it('keeps a viem error to its short message and detail, never the URL token or the signed transaction', async () => {
    const { HttpRequestError } = await import('viem')
    const { errorText } = await import('../../src/errors.js')
    const signed = `0x02f8${'ab'.repeat(120)}`
    const error = new HttpRequestError({
      url: 'https://alice:hunter2@rpc.example/v2/SECRETTOKEN',
      body: { method: 'eth_sendRawTransaction', params: [signed] },
      details: 'nonce too low',
    })
    const text = errorText(error)
    expect(text).toContain('nonce too low')
    expect(text).not.toMatch(/hunter2|SECRETTOKEN|abab/)
    expect(text.split('\n')).toHaveLength(1)
    expect(errorText(new Error(`failed with ${signed} at https://bob:pw@host/x`))).not.toMatch(/abab|pw@/)
  })
})
