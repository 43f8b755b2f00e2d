/**
 * Turns opportunities into landed transactions: simulate (eth_simulateV1 at the predicted timestamp,
 * after the pending oracle update when there is one, with balance reads around the call so profit is
 * measured, not modelled), price gas, sign, send, track inclusion, replace when stuck, heal nonces.
 * One transaction per account in flight: the same liquidation is never submitted twice.
 */

import {
  type Address,
  encodeFunctionData,
  type Hex,
  type LocalAccount,
  type PublicClient,
  parseAbi,
  toHex,
} from 'viem'
import type { WsConnection } from '../chain/wsConnection.js'
import { errorText } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { BlockHeader, ExecutionResult, Opportunity, Strategy } from '../types.js'
import { bidGas, bumpGas, type GasBid, gasCostBase } from './gasPolicy.js'

const erc20 = parseAbi([
  'function balanceOf(address) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
])

export interface ExecutorSettings {
  chainId: number
  minProfitBase: bigint
  priorityFeeShareBps: bigint
  maxFeePerGasWei: bigint
  replaceAfterBlocks: number
  gasLimitMarginBps: bigint
  dryRun: boolean
}

export interface ExecutionRecord extends ExecutionResult {
  hash: Hex
  blockNumber: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  expectedRepay: bigint
  expectedReceive: bigint
  detectedAt: number
  submittedAt: number
  includedAt: number
  predicted: boolean
}

interface InFlight {
  opportunity: Opportunity
  nonce: number
  gasLimit: bigint
  bid: GasBid
  hashes: Hex[]
  sentBlock: bigint
  submittedAt: number
  budgetBase: bigint
  /** Set once a cancel was decided (before it is sent, so two updates cannot send two). */
  cancelling?: boolean
  /** The 0-value self-transfer that replaced this (stale) backrun. */
  cancelHash?: Hex
}

export interface Executor {
  prepare(): Promise<void>
  /**
   * Simulates, prices and sends. `isCurrent` is asked once more right before signing: a backrun
   * planned on some pending updates may have been superseded by later ones while it was simulated.
   */
  execute(
    opportunity: Opportunity,
    head: BlockHeader,
    isCurrent?: () => boolean,
  ): Promise<'sent' | 'skipped' | 'refused'>
  onBlock(header: BlockHeader): Promise<void>
  isBusy(account: Address): boolean
  inFlightCount(): number
  /** Accounts (lowercase) with a backrun in flight, not yet cancelled. */
  inFlightBackruns(): string[]
  /**
   * Replaces an in-flight backrun with a 0-value self-transfer at the same nonce (+12.5% fees): a
   * later pending oracle update made the account healthy again, so the liquidation would revert.
   */
  cancel(account: string, reason: string): Promise<boolean>
  readonly records: ExecutionRecord[]
  /** Pending oracle transaction received → signed backrun sent, per submission (ms). */
  readonly tickToTrade: { oracleTx: Hex; ms: number }[]
  readonly address: Address | undefined
}

export interface ExecutorDeps {
  client: PublicClient
  ws?: WsConnection | undefined
  account: LocalAccount | undefined
  strategy: Strategy
  settings: ExecutorSettings
  log: Logger
  metrics: Metrics
  now?: () => number
}

interface SimCall {
  status: Hex
  returnData: Hex
  gasUsed: Hex
  error?: { message?: string }
}

export function createExecutor(deps: ExecutorDeps): Executor {
  const { client, strategy, settings, log, metrics, account } = deps
  const now = deps.now ?? (() => performance.timeOrigin + performance.now())
  const inFlight = new Map<string, InFlight>()
  const records: ExecutionRecord[] = []
  const tickToTrade: { oracleTx: Hex; ms: number }[] = []
  let nonce: number | undefined

  const rpc = <T>(method: string, params: unknown[]): Promise<T> =>
    deps.ws?.connected
      ? deps.ws.request<T>(method, params)
      : (client.request({ method, params } as never) as Promise<T>)

  async function syncNonce(): Promise<void> {
    if (!account) return
    nonce = await client.getTransactionCount({ address: account.address, blockTag: 'pending' })
  }

  async function sendRaw(tx: {
    nonce: number
    to: Address
    data: Hex
    gas: bigint
    bid: GasBid
  }): Promise<Hex> {
    if (!account?.signTransaction) throw new Error('no signing account')
    const signed = await account.signTransaction({
      chainId: settings.chainId,
      type: 'eip1559',
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      gas: tx.gas,
      maxFeePerGas: tx.bid.maxFeePerGas,
      maxPriorityFeePerGas: tx.bid.maxPriorityFeePerGas,
      value: 0n,
    })
    return rpc<Hex>('eth_sendRawTransaction', [signed])
  }

  /** eth_simulateV1 at the opportunity's timestamp: balances before and after, gas used, success. */
  async function simulate(opp: Opportunity, from: Address) {
    const balance = (token: Address) => ({
      from,
      to: token,
      data: encodeFunctionData({ abi: erc20, functionName: 'balanceOf', args: [from] }),
    })
    const calls: Record<string, unknown>[] = [balance(opp.receiveAsset), balance(opp.repayAsset)]
    const oracleTxs = opp.dependsOn ? [...(opp.precededBy ?? []), opp.dependsOn] : []
    for (const tx of oracleTxs)
      calls.push({ from: tx.from, to: tx.to, data: tx.input, gas: toHex(3_000_000n) })
    const liquidationIndex = calls.length
    calls.push({ from, to: opp.call.to, data: opp.call.data, gas: toHex(3_000_000n) })
    calls.push(balance(opp.receiveAsset), balance(opp.repayAsset))
    const [block] = await rpc<{ calls: SimCall[] }[]>('eth_simulateV1', [
      { blockStateCalls: [{ blockOverrides: { time: toHex(opp.atTimestamp) }, calls }], validation: false },
      'latest',
    ])
    const results = block?.calls ?? []
    const liquidation = results[liquidationIndex]
    const read = (c: SimCall | undefined) => (c && c.returnData !== '0x' ? BigInt(c.returnData) : 0n)
    const ok =
      liquidation?.status === '0x1' && results.slice(2, liquidationIndex).every((c) => c.status === '0x1')
    return {
      ok,
      reason: liquidation?.error?.message ?? (ok ? '' : 'reverted'),
      gasUsed: liquidation ? BigInt(liquidation.gasUsed) : 0n,
      received: read(results[results.length - 2]) - read(results[0]),
      repaid: read(results[1]) - read(results[results.length - 1]),
    }
  }

  const refuse = (opp: Opportunity, reason: string, extra: Record<string, unknown> = {}) => {
    metrics.refused.inc({ reason })
    log.debug({ account: opp.account, reason, ...extra }, 'opportunity refused')
    return 'refused' as const
  }

  return {
    records,
    tickToTrade,
    get address() {
      return account?.address
    },
    isBusy: (a) => inFlight.has(a.toLowerCase()),
    inFlightCount: () => inFlight.size,
    inFlightBackruns: () =>
      [...inFlight.entries()]
        .filter(([, e]) => e.opportunity.dependsOn !== undefined && !e.cancelling && e.hashes.length > 0)
        .map(([key]) => key),

    async cancel(accountKey, reason) {
      const entry = inFlight.get(accountKey.toLowerCase())
      if (!entry || entry.cancelling || entry.hashes.length === 0 || !account) return false
      entry.cancelling = true
      const bid = bumpGas(entry.bid)
      try {
        const hash = await sendRaw({ nonce: entry.nonce, to: account.address, data: '0x', gas: 21_000n, bid })
        entry.cancelHash = hash
        entry.hashes.push(hash)
        entry.bid = bid
        metrics.submissions.inc({ kind: 'cancel' })
        log.info(
          { account: entry.opportunity.account, nonce: entry.nonce, hash, reason },
          'backrun cancelled',
        )
        return true
      } catch (error) {
        // Most likely already mined: its receipt settles it (and no other cancel is tried).
        metrics.rpcErrors.inc({ stage: 'cancel' })
        log.warn({ account: entry.opportunity.account, err: errorText(error) }, 'cancel rejected')
        return false
      }
    },

    async prepare() {
      if (!account || settings.dryRun) return
      await syncNonce()
      const sent: Hex[] = []
      for (const { token, spender } of strategy.approvals()) {
        const allowance = await client.readContract({
          address: token,
          abi: erc20,
          functionName: 'allowance',
          args: [account.address, spender],
        })
        if (allowance > 2n ** 200n) continue
        const block = await client.getBlock()
        const baseFee = block.baseFeePerGas ?? 0n
        const n = nonce as number
        nonce = n + 1
        const hash = await sendRaw({
          nonce: n,
          to: token,
          data: encodeFunctionData({ abi: erc20, functionName: 'approve', args: [spender, 2n ** 256n - 1n] }),
          gas: 100_000n,
          bid: { maxFeePerGas: baseFee * 2n + 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n },
        })
        metrics.submissions.inc({ kind: 'approve' })
        log.info({ token, spender, hash }, 'approval sent')
        sent.push(hash)
      }
      // Liquidations simulate against the allowance: wait until the approvals are mined.
      for (const hash of sent)
        await client.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 120_000 })
    },

    async execute(opp, head, isCurrent) {
      const key = opp.account.toLowerCase()
      if (inFlight.has(key)) return 'skipped'
      const from = account?.address ?? opp.call.to
      const started = now()
      let sim: Awaited<ReturnType<typeof simulate>>
      try {
        sim = await simulate(opp, from)
      } catch (error) {
        metrics.rpcErrors.inc({ stage: 'simulate' })
        log.warn({ account: opp.account, err: errorText(error) }, 'simulation failed')
        return 'refused'
      }
      metrics.stageSeconds.observe({ stage: 'simulate' }, (now() - started) / 1000)
      if (!sim.ok) return refuse(opp, 'simulation reverts', { detail: sim.reason })
      // Profit from what the simulation actually moved, valued at the (predicted) prices.
      const predicted =
        opp.dependsOn && opp.predictedPrices ? { prices: opp.predictedPrices, tx: opp.dependsOn } : undefined
      const bonusBase =
        strategy.valueBase(opp.receiveAsset, sim.received, predicted) -
        strategy.valueBase(opp.repayAsset, sim.repaid, predicted)
      const gasLimit = (sim.gasUsed * (10_000n + settings.gasLimitMarginBps)) / 10_000n
      const nativePrice = strategy.nativePriceBase()
      const bid = bidGas({
        bonusBase,
        gasLimit,
        baseFeeWei: head.baseFeePerGas ?? 0n,
        nativePriceBase: nativePrice,
        shareBps: settings.priorityFeeShareBps,
        maxFeeCapWei: settings.maxFeePerGasWei,
        dependsOn: opp.dependsOn,
      })
      if ('refuse' in bid) return refuse(opp, bid.refuse)
      const expectedFee = (head.baseFeePerGas ?? 0n) + bid.maxPriorityFeePerGas
      const netBase =
        bonusBase -
        gasCostBase(sim.gasUsed, expectedFee < bid.maxFeePerGas ? expectedFee : bid.maxFeePerGas, nativePrice)
      if (netBase < settings.minProfitBase)
        return refuse(opp, 'below min profit', { netBase: netBase.toString() })
      if (isCurrent && !isCurrent()) return refuse(opp, 'superseded by a later pending oracle update')
      metrics.opportunities.inc({ source: opp.dependsOn ? 'pending-oracle' : 'block' })
      if (settings.dryRun || !account) {
        log.info(
          { account: opp.account, repay: opp.repayAmount.toString(), netBase: netBase.toString() },
          'dry run: would submit liquidation',
        )
        return 'refused'
      }
      if (nonce === undefined) await syncNonce()
      const n = nonce as number
      nonce = n + 1
      const entry: InFlight = {
        opportunity: opp,
        nonce: n,
        gasLimit,
        bid,
        hashes: [],
        sentBlock: head.number,
        submittedAt: now(),
        budgetBase: bonusBase - settings.minProfitBase,
      }
      inFlight.set(key, entry)
      try {
        entry.hashes.push(
          await sendRaw({ nonce: n, to: opp.call.to, data: opp.call.data, gas: gasLimit, bid }),
        )
      } catch (error) {
        inFlight.delete(key)
        metrics.rpcErrors.inc({ stage: 'send' })
        log.warn({ account: opp.account, err: errorText(error) }, 'send failed; resyncing nonce')
        await syncNonce()
        return 'refused'
      }
      metrics.submissions.inc({ kind: opp.dependsOn ? 'backrun' : 'liquidation' })
      if (opp.dependsOn) {
        const tickToTradeMs = entry.submittedAt - opp.dependsOn.seenAt
        metrics.tickToTradeSeconds.observe(tickToTradeMs / 1000)
        tickToTrade.push({ oracleTx: opp.dependsOn.hash, ms: tickToTradeMs })
      }
      metrics.stageSeconds.observe({ stage: 'detect_to_submit' }, (entry.submittedAt - opp.detectedAt) / 1000)
      log.info(
        {
          account: opp.account,
          nonce: n,
          hash: entry.hashes[0],
          netBase: netBase.toString(),
          backrun: opp.dependsOn?.hash,
        },
        'liquidation submitted',
      )
      return 'sent'
    },

    async onBlock(header) {
      if (inFlight.size === 0) return
      const latestNonce = account
        ? await client.getTransactionCount({ address: account.address, blockTag: 'latest' })
        : 0
      for (const [key, entry] of inFlight) {
        // Still being signed and sent: nothing to track yet.
        if (entry.hashes.length === 0) continue
        let landed = false
        for (const hash of [...entry.hashes].reverse()) {
          const receipt = await client.getTransactionReceipt({ hash }).catch(() => undefined)
          if (!receipt) continue
          landed = true
          // Resolve only once the mirror has the block that carries it, so plans never miss it.
          if (receipt.blockNumber > header.number) break
          inFlight.delete(key)
          if (hash === entry.cancelHash) {
            metrics.inclusions.inc({ status: 'cancelled' })
            log.info(
              { account: entry.opportunity.account, hash, block: receipt.blockNumber },
              'cancel included',
            )
            break
          }
          if (receipt.status !== 'success') {
            metrics.inclusions.inc({ status: 'reverted' })
            metrics.lost.inc()
            log.warn(
              { account: entry.opportunity.account, hash, block: receipt.blockNumber },
              'liquidation reverted (taken by another liquidator?)',
            )
            break
          }
          const result = strategy.decodeExecution(receipt.logs as never)
          metrics.inclusions.inc({ status: 'success' })
          if (result) {
            records.push({
              ...result,
              hash,
              blockNumber: receipt.blockNumber,
              gasUsed: receipt.gasUsed,
              effectiveGasPrice: receipt.effectiveGasPrice,
              expectedRepay: entry.opportunity.repayAmount,
              expectedReceive: entry.opportunity.receiveAmount,
              detectedAt: entry.opportunity.detectedAt,
              submittedAt: entry.submittedAt,
              includedAt: now(),
              predicted: entry.opportunity.dependsOn !== undefined,
            })
          }
          log.info(
            {
              account: entry.opportunity.account,
              hash,
              block: receipt.blockNumber,
              gasUsed: receipt.gasUsed,
            },
            'liquidation included',
          )
          break
        }
        if (landed) continue
        if (latestNonce > entry.nonce) {
          // Our nonce was used by a transaction we are not tracking: dropped or replaced elsewhere.
          inFlight.delete(key)
          metrics.lost.inc()
          log.warn(
            { account: entry.opportunity.account, nonce: entry.nonce },
            'transaction dropped; nonce consumed elsewhere',
          )
          await syncNonce()
          continue
        }
        // Stuck for N blocks (a backrun too: its oracle update has landed or never will): bump.
        if (!entry.cancelling && header.number - entry.sentBlock >= BigInt(settings.replaceAfterBlocks)) {
          const bumped = bumpGas(entry.bid)
          const worst = gasCostBase(entry.gasLimit, bumped.maxFeePerGas, strategy.nativePriceBase())
          if (bumped.maxFeePerGas > settings.maxFeePerGasWei || worst > entry.budgetBase) continue
          try {
            entry.hashes.push(
              await sendRaw({
                nonce: entry.nonce,
                to: entry.opportunity.call.to,
                data: entry.opportunity.call.data,
                gas: entry.gasLimit,
                bid: bumped,
              }),
            )
            entry.bid = bumped
            entry.sentBlock = header.number
            metrics.submissions.inc({ kind: 'replacement' })
            log.info(
              {
                account: entry.opportunity.account,
                nonce: entry.nonce,
                maxFeePerGas: bumped.maxFeePerGas.toString(),
              },
              'stuck liquidation replaced',
            )
          } catch (error) {
            metrics.rpcErrors.inc({ stage: 'replace' })
            log.warn({ err: errorText(error) }, 'replacement rejected')
          }
        }
      }
    },
  }
}
