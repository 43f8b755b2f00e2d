/**
 * Pure decoding of pending oracle transactions into the answer they will write: our devnet
 * aggregator's setAnswer(int256); Chainlink OCR1 transmit(report, rs, ss, rawVs) (OffchainAggregator:
 * report = (rawReportContext, rawObservers, int192[] observations)); and OCR2 transmit(reportContext,
 * report, rs, ss, rawVs), as mainnet feeds run it (OCR2Aggregator: report = (uint32
 * observationsTimestamp, bytes32 rawObservers, int192[] observations, int192 juelsPerFeeCoin)), also
 * as the SVR DualAggregator's transmitSecondary. The answer is the median observation: observations
 * arrive sorted and the aggregator stores observations[n / 2].
 */
import { decodeAbiParameters, decodeFunctionData, type Hex, parseAbi } from 'viem'

const oracleWriteAbi = parseAbi([
  'function setAnswer(int256 answer)',
  'function transmit(bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
  'function transmit(bytes32[3] reportContext, bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
  'function transmitSecondary(bytes32[3] reportContext, bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
])

const ocr1Report = [
  { type: 'bytes32', name: 'rawReportContext' },
  { type: 'bytes32', name: 'rawObservers' },
  { type: 'int192[]', name: 'observations' },
] as const

const ocr2Report = [
  { type: 'uint32', name: 'observationsTimestamp' },
  { type: 'bytes32', name: 'rawObservers' },
  { type: 'int192[]', name: 'observations' },
  { type: 'int192', name: 'juelsPerFeeCoin' },
] as const

const median = (observations: readonly bigint[]): bigint | undefined =>
  observations.length === 0 ? undefined : observations[Math.floor(observations.length / 2)]

/** The answer a pending aggregator transaction will set, or undefined if it is not one we understand. */
export function decodeOracleAnswer(input: Hex): bigint | undefined {
  let call: { functionName: string; args: readonly unknown[] }
  try {
    call = decodeFunctionData({ abi: oracleWriteAbi, data: input })
  } catch {
    return undefined // not an oracle write: most mempool traffic to these addresses is not
  }
  try {
    if (call.functionName === 'setAnswer') return call.args[0] as bigint
    if (call.args.length === 4) return median(decodeAbiParameters(ocr1Report, call.args[0] as Hex)[2])
    return median(decodeAbiParameters(ocr2Report, call.args[1] as Hex)[2])
  } catch {
    return undefined // a malformed report: the aggregator would revert on it too
  }
}
