/**
 * The daemon's embedded store: one JSON snapshot of the mirror on local disk, keyed by chain, market
 * and (block number, hash). Written atomically (temp file + rename) so a crash never leaves half a
 * file; a snapshot that does not match, or does not parse, is reported and the caller rebuilds.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { z } from 'zod'

export interface SnapshotMeta {
  format: 1
  strategy: string
  chainId: number
  market: string
  blockNumber: string
  blockHash: Hex
  savedAt: string
}

/** The envelope must match exactly; the state inside is checked by its strategy's own schema. */
const metaSchema = z.strictObject({
  format: z.literal(1),
  strategy: z.string(),
  chainId: z.number().int().positive(),
  market: z.string(),
  blockNumber: z.string().regex(/^\d+$/),
  blockHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  savedAt: z.string(),
})

export type SnapshotLoad =
  | { status: 'ok'; meta: SnapshotMeta; state: unknown }
  | { status: 'missing' }
  | { status: 'mismatch'; reason: string }
  | { status: 'corrupt'; reason: string }

/** JSON with bigints and Maps preserved. */
export function encodeState(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return { $b: v.toString() }
    if (v instanceof Map) return { $m: [...v.entries()] }
    if (v instanceof Set) return { $s: [...v] }
    return v
  })
}

export function decodeState(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>
      if (typeof o.$b === 'string' && Object.keys(o).length === 1) return BigInt(o.$b)
      if (Array.isArray(o.$m) && Object.keys(o).length === 1) return new Map(o.$m as [unknown, unknown][])
      if (Array.isArray(o.$s) && Object.keys(o).length === 1) return new Set(o.$s)
    }
    return v
  })
}

export function snapshotPath(dataDir: string): string {
  return join(dataDir, 'mirror-snapshot.json')
}

export function saveSnapshot(
  dataDir: string,
  meta: Omit<SnapshotMeta, 'format' | 'savedAt'>,
  state: unknown,
): void {
  mkdirSync(dataDir, { recursive: true })
  const file = snapshotPath(dataDir)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, encodeState({ meta: { format: 1, savedAt: new Date().toISOString(), ...meta }, state }))
  renameSync(tmp, file)
}

/**
 * Snapshots off the head loop: the state is encoded when asked (so it is the state of that head),
 * the file is written asynchronously, and a request made while a write runs replaces any queued one
 * (the newest wins). `flush` waits for everything asked so far to be on disk.
 */
export function createSnapshotWriter(dataDir: string, onError: (error: unknown) => void) {
  let writing: Promise<void> | undefined
  let queued: string | undefined
  const file = snapshotPath(dataDir)
  const tmp = `${file}.${process.pid}.tmp`
  const writeLoop = async () => {
    await mkdir(dataDir, { recursive: true })
    while (queued !== undefined) {
      const text = queued
      queued = undefined
      await writeFile(tmp, text)
      await rename(tmp, file)
    }
  }
  return {
    save(meta: Omit<SnapshotMeta, 'format' | 'savedAt'>, state: unknown): void {
      queued = encodeState({ meta: { format: 1, savedAt: new Date().toISOString(), ...meta }, state })
      writing ??= writeLoop()
        .catch(onError)
        .finally(() => {
          writing = undefined
        })
    },
    async flush(): Promise<void> {
      while (writing) await writing
    },
  }
}

export function loadSnapshot(
  dataDir: string,
  expected: { strategy: string; chainId: number; market: string },
): SnapshotLoad {
  let text: string
  try {
    text = readFileSync(snapshotPath(dataDir), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' }
    return { status: 'corrupt', reason: `unreadable: ${(error as Error).message}` }
  }
  let decoded: unknown
  try {
    decoded = decodeState(text)
  } catch (error) {
    return { status: 'corrupt', reason: `not valid JSON (${(error as Error).message.split('\n')[0]})` }
  }
  const parsed = (typeof decoded === 'object' && decoded !== null ? decoded : {}) as {
    meta?: unknown
    state?: unknown
  }
  const header = metaSchema.safeParse(parsed.meta)
  if (!header.success || parsed.state === undefined || parsed.state === null)
    return { status: 'corrupt', reason: 'missing or unknown snapshot header' }
  const meta = header.data as SnapshotMeta
  if (meta.strategy !== expected.strategy)
    return { status: 'mismatch', reason: `snapshot is for strategy ${meta.strategy}` }
  if (meta.chainId !== expected.chainId)
    return { status: 'mismatch', reason: `snapshot is for chain ${meta.chainId}` }
  if (meta.market.toLowerCase() !== expected.market.toLowerCase())
    return { status: 'mismatch', reason: `snapshot is for market ${meta.market}` }
  return { status: 'ok', meta, state: parsed.state }
}
