/**
 * Simulation of opportunities with eth_simulateV1 (viem's simulateBlocks): in one block at the
 * opportunity's timestamp, the pending oracle transactions it follows, then the profit probes, the
 * call, the probes again (for each opportunity of a batch in turn). Profit is what the probes measured, valued by the strategy's own prices:
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

/** The pending oracle transactions an opportunity's call must follow, in landing order. */
export function oracleTxsOf(opportunity: Opportunity): NonNullable<Opportunity['dependsOn']>[] {
  return opportunity.dependsOn ? [...(opportunity.precededBy ?? []), opportunity.dependsOn] : []
}

export async function simulateOpportunity(
  client: Client,
  opportunity: Opportunity,
  from: Address,
  /** A dry run's funding (balances and allowances the sender lacks). */
  stateOverrides?: StateOverride | undefined,
): Promise<SimulationResult> {
  const [result] = await simulateOpportunities(client, [opportunity], from, stateOverrides)
  return result as SimulationResult
}

/**
 * Several opportunities in one simulated block, one after another, as backruns of one pending
 * update land: its oracle transactions once, then per opportunity the probes, the call, the probes
 * again. Each call sees the state the ones before it left (a reverting call leaves none). All must
 * follow the same oracle transactions at the same timestamp.
 */
export async function simulateOpportunities(
  client: Client,
  opportunities: Opportunity[],
  from: Address,
  stateOverrides?: StateOverride | undefined,
): Promise<SimulationResult[]> {
  const first = opportunities[0]
  if (!first) return []
  const oracleTxs = oracleTxsOf(first)
  const calls: {
    account: Address
    to: Address | null
    data: Hex
    value?: bigint
    gas?: bigint
  }[] = oracleTxs.map((tx) => ({ account: tx.from, to: tx.to, data: tx.input, gas: SIM_GAS }))
  const callIndexes: number[] = []
  for (const opportunity of opportunities) {
    const probes = opportunity.probes.map((p) => ({ account: from, to: p.to, data: p.calldata(from) }))
    calls.push(...probes)
    callIndexes.push(calls.length)
    calls.push({
      account: from,
      to: opportunity.call.to,
      data: opportunity.call.data,
      value: opportunity.call.value,
      gas: SIM_GAS,
    })
    calls.push(...probes)
  }
  const [block] = await simulateBlocks(client, {
    blocks: [
      {
        blockOverrides: { time: first.atTimestamp },
        ...(stateOverrides && stateOverrides.length > 0 ? { stateOverrides } : {}),
        calls,
      },
    ],
    validation: false,
  })
  const results = block?.calls ?? []
  const oraclesOk = results.slice(0, oracleTxs.length).every((r) => r.status === 'success')
  return opportunities.map((opportunity, n) => {
    const callIndex = callIndexes[n] as number
    const probeCount = opportunity.probes.length
    const call = results[callIndex]
    const ok = oraclesOk && call?.status === 'success'
    const deltas = opportunity.probes.map((probe, i) => {
      const before = results[callIndex - probeCount + i]
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
  })
}
