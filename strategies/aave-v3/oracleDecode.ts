/**
 * Pure decoding of pending oracle transactions into the answer they will write: our devnet
 * aggregator's setAnswer(int256), and Chainlink OCR transmit(report, rs, ss, rawVs), whose answer is
 * the median observation of the report (observations are sorted; the median is observations[n/2]).
 */
import { decodeAbiParameters, decodeFunctionData, type Hex, parseAbi } from 'viem'

const oracleWriteAbi = parseAbi([
  'function setAnswer(int256 answer)',
  'function transmit(bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
])

const reportParams = [
  { type: 'bytes32', name: 'rawReportContext' },
  { type: 'bytes32', name: 'rawObservers' },
  { type: 'int192[]', name: 'observations' },
] as const

/** The answer a pending aggregator transaction will set, or undefined if it is not one we understand. */
export function decodeOracleAnswer(input: Hex): bigint | undefined {
  let call: { functionName: string; args: readonly unknown[] }
  try {
    call = decodeFunctionData({ abi: oracleWriteAbi, data: input }) as never
  } catch {
    return undefined // not an oracle write: most mempool traffic to these addresses is not
  }
  if (call.functionName === 'setAnswer') return call.args[0] as bigint
  const [, , observations] = decodeAbiParameters(reportParams, call.args[0] as Hex)
  if (observations.length === 0) return undefined
  return observations[Math.floor(observations.length / 2)]
}
