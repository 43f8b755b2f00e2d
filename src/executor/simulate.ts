/**
 * Simulation of one opportunity with eth_simulateV1 (viem's simulateBlocks): in one block at the
 * opportunity's timestamp, the pending oracle transactions it follows, then the profit probes, the
 * call, the probes again. Profit is what the probes measured, valued by the strategy's own prices:
 * a reward credited inside a protocol counts as much as tokens received.
 */
import {
  type Abi,
  type Address,
  type Client,
  decodeErrorResult,
  type Hex,
  hexToBigInt,
  type StateOverride,
} from 'viem'
import { simulateBlocks } from 'viem/actions'
import type { Opportunity } from '../types.js'

export interface SimulationResult {
  ok: boolean
  /** The revert reason when !ok. */
  reason: string
  gasUsed: bigint
  /** Σ probe.valueBase(after − before). */
  profitBase: bigint
  /** after − before per probe, in the probes' order. */
  deltas: bigint[]
}

const SIM_GAS = 3_000_000n

function decodeWord(data: Hex, signed: boolean): bigint {
  if (data === '0x') return 0n
  return signed
    ? hexToBigInt(data.slice(0, 66) as Hex, { signed: true })
    : hexToBigInt(data.slice(0, 66) as Hex)
}

/** A revert named by the target's own errors where they decode, else by the node's message. */
function revertReason(data: Hex, errors: Abi | undefined, message: string | undefined): string {
  if (errors && data.length >= 10) {
    try {
      const decoded = decodeErrorResult({ abi: errors, data })
      const args = (decoded.args ?? []).map((a) => (typeof a === 'bigint' ? a.toString() : String(a)))
      return `${decoded.errorName}(${args.join(', ')})`
    } catch {
      // Not one of the target's errors (a nested call's): the node's message and the selector.
    }
  }
  const first = message?.split('\n')[0] ?? 'reverted'
  return data.length >= 10 ? `${first} ${data.slice(0, 10)}` : first
}

export async function simulateOpportunity(
  client: Client,
  opportunity: Opportunity,
  from: Address,
  /** A dry run's funding (balances and allowances the sender lacks). */
  stateOverrides?: StateOverride | undefined,
): Promise<SimulationResult> {
  const probes = opportunity.probes.map((p) => ({ account: from, to: p.to, data: p.calldata(from) }))
  const oracleTxs = opportunity.dependsOn ? [...(opportunity.precededBy ?? []), opportunity.dependsOn] : []
  const calls = [
    ...oracleTxs.map((tx) => ({ account: tx.from, to: tx.to, data: tx.input, gas: SIM_GAS })),
    ...probes,
    {
      account: from,
      to: opportunity.call.to,
      data: opportunity.call.data,
      value: opportunity.call.value,
      gas: SIM_GAS,
    },
    ...probes,
  ]
  const [block] = await simulateBlocks(client, {
    blocks: [
      {
        blockOverrides: { time: opportunity.atTimestamp },
        ...(stateOverrides && stateOverrides.length > 0 ? { stateOverrides } : {}),
        calls,
      },
    ],
    validation: false,
  })
  const results = block?.calls ?? []
  const oracleCount = oracleTxs.length
  const callIndex = oracleCount + probes.length
  const call = results[callIndex]
  const oraclesOk = results.slice(0, oracleCount).every((r) => r.status === 'success')
  const ok = oraclesOk && call?.status === 'success'
  const deltas = opportunity.probes.map((probe, i) => {
    const before = results[oracleCount + i]
    const after = results[callIndex + 1 + i]
    const signed = probe.signed ?? false
    return (
      (after?.status === 'success' ? decodeWord(after.data, signed) : 0n) -
      (before?.status === 'success' ? decodeWord(before.data, signed) : 0n)
    )
  })
  let profitBase = 0n
  opportunity.probes.forEach((probe, i) => {
    profitBase += probe.valueBase(deltas[i] ?? 0n)
  })
  const reason = ok
    ? ''
    : !oraclesOk
      ? 'a pending oracle transaction reverts'
      : call?.status === 'failure'
        ? revertReason(call.data, opportunity.call.errors, call.error?.message)
        : 'reverted'
  return { ok, reason, gasUsed: call?.gasUsed ?? 0n, profitBase, deltas }
}
