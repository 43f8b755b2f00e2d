/**
 * The devnet's price pusher: lands a Hermes service's prices on the Pyth contract only now and
 * then, as real markets' keepers do — a feed is pushed when it deviates from the stored price by
 * `deviationBps` or its stored price is older than `heartbeatSec`. Until then the move exists only
 * off-chain, which is the window a pull-oracle liquidator works in. Part of the devnet, never of
 * the daemon.
 */
import { type Address, encodeFunctionData, type Hex, type PublicClient } from 'viem'
import { sendAndConfirm } from '../chain/rpc.js'
import { errorText } from '../errors.js'
import type { HermesService } from './hermesService.js'

const pythAbi = [
  {
    type: 'function',
    name: 'getPriceUnsafe',
    stateMutability: 'view',
    inputs: [{ name: 'id', type: 'bytes32' }],
    outputs: [
      {
        type: 'tuple',
        components: [
          { name: 'price', type: 'int64' },
          { name: 'conf', type: 'uint64' },
          { name: 'expo', type: 'int32' },
          { name: 'publishTime', type: 'uint256' },
        ],
      },
    ],
  },
  {
    type: 'function',
    name: 'getUpdateFee',
    stateMutability: 'view',
    inputs: [{ name: 'updateData', type: 'bytes[]' }],
    outputs: [{ type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'updatePriceFeeds',
    stateMutability: 'payable',
    inputs: [{ name: 'updateData', type: 'bytes[]' }],
    outputs: [],
  },
] as const

export interface PythPusher {
  /** Pushes now whatever deviates or is stale; returns the feed ids pushed. */
  tick(): Promise<string[]>
  /** Pushes the given feeds now, whatever they deviate (`undertow devnet price --push`). */
  push(ids: string[]): Promise<void>
  pause(): void
  resume(): void
  stop(): void
}

export function createPythPusher(params: {
  client: PublicClient
  pyth: Address
  service: HermesService
  from: Address
  deviationBps: bigint
  heartbeatSec: bigint
  intervalMs: number
  onError?(error: unknown): void
}): PythPusher {
  const { client, pyth, service } = params
  let paused = false
  let stopped = false
  let running: Promise<unknown> = Promise.resolve()

  async function push(ids: string[]): Promise<void> {
    if (ids.length === 0) return
    const updateData: Hex[] = ids.map((id) => service.updateData(id))
    const fee = await client.readContract({
      address: pyth,
      abi: pythAbi,
      functionName: 'getUpdateFee',
      args: [updateData],
    })
    await sendAndConfirm(
      client,
      {
        from: params.from,
        to: pyth,
        data: encodeFunctionData({ abi: pythAbi, functionName: 'updatePriceFeeds', args: [updateData] }),
        value: fee,
        gas: 1_000_000n,
      },
      'push prices',
    )
  }

  async function tick(): Promise<string[]> {
    const block = await client.getBlock()
    const due: string[] = []
    for (const feed of service.feeds()) {
      const stored = await client
        .readContract({ address: pyth, abi: pythAbi, functionName: 'getPriceUnsafe', args: [feed.id] })
        .catch(() => undefined)
      if (!stored) {
        due.push(feed.id)
        continue
      }
      if (stored.publishTime >= feed.publishTime) continue
      const deviation = stored.price === 0n ? BPS : (abs(feed.price - stored.price) * BPS) / abs(stored.price)
      if (deviation >= params.deviationBps || block.timestamp - stored.publishTime >= params.heartbeatSec)
        due.push(feed.id)
    }
    await push(due)
    return due
  }

  const timer = setInterval(() => {
    if (paused || stopped) return
    running = running.then(tick).catch((error: unknown) => params.onError?.(new Error(errorText(error))))
  }, params.intervalMs)
  timer.unref()
  return {
    tick() {
      const result = running.then(tick)
      running = result.catch(() => undefined)
      return result
    },
    push(ids) {
      const result = running.then(() => push(ids))
      running = result.catch(() => undefined)
      return result
    },
    pause() {
      paused = true
    },
    resume() {
      paused = false
    },
    stop() {
      stopped = true
      clearInterval(timer)
    },
  }
}

const BPS = 10_000n
const abs = (x: bigint) => (x < 0n ? -x : x)
