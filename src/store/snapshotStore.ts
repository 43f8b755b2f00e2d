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
import type { SnapshotParts } from '../types.js'

export interface SnapshotMeta {
  /** 2: bigints as tagged strings; 1 (still read): bigints as {"$b": "…"} objects. */
  format: 1 | 2
  strategy: string
  chainId: number
  market: string
  blockNumber: string
  blockHash: Hex
  savedAt: string
}

/** The envelope must match exactly; the state inside is checked by its strategy's own schema. */
const metaSchema = z.strictObject({
  format: z.union([z.literal(1), z.literal(2)]),
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

/**
 * A bigint is written as a string tagged by a leading U+0001 ("\u0001123"); a string that itself
 * begins with U+0001 gets a second one. Why not {"$b": "123"}, as format 1 wrote: a mirror is mostly
 * bigints, and an object per bigint made the 100k-account snapshot 12% larger and JSON.parse plus
 * revive measurably slower on the restart path (the old shape is still read).
 */
const TAG = '\u0001'
const TAG_CODE = 1

/** JSON with bigints and Maps preserved. */
export function encodeState(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return TAG + v.toString()
    if (typeof v === 'string') return v.charCodeAt(0) === TAG_CODE ? TAG + v : v
    if (v instanceof Map) return { $m: [...v.entries()] }
    if (v instanceof Set) return { $s: [...v] }
    return v
  })
}

/** Whether an object has exactly one own key (the tagged shapes encodeState writes). */
function single(o: Record<string, unknown>): boolean {
  let n = 0
  for (const _ in o) if (++n > 1) return false
  return n === 1
}

/** Restores what encodeState tagged, bottom-up and in place (faster than a JSON.parse reviver). */
function revive(v: unknown): unknown {
  if (typeof v === 'string') {
    if (v.charCodeAt(0) !== TAG_CODE) return v
    return v.charCodeAt(1) === TAG_CODE ? v.slice(1) : BigInt(v.slice(1))
  }
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i])
    return v
  }
  const o = v as Record<string, unknown>
  if (typeof o.$b === 'string' && single(o)) return BigInt(o.$b)
  if (Array.isArray(o.$m) && single(o)) return new Map(revive(o.$m) as [unknown, unknown][])
  if (Array.isArray(o.$s) && single(o)) return new Set(revive(o.$s) as unknown[])
  for (const key in o) o[key] = revive(o[key])
  return o
}

export function decodeState(text: string): unknown {
  return revive(JSON.parse(text))
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
  writeFileSync(tmp, encodeState({ meta: { format: 2, savedAt: new Date().toISOString(), ...meta }, state }))
  renameSync(tmp, file)
}

/** How long one slice of a large snapshot's encoding may hold the event loop. */
const SLICE_MS = 4

const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Encodes a state handed out in parts a slice at a time, yielding between slices, into exactly the
 * text `encodeState` would give for the whole state (so `decodeState` reads it back unchanged).
 */
export async function encodeParts(envelope: { meta: unknown }, parts: SnapshotParts): Promise<string> {
  const marker = '\u0000undertow-large\u0000'
  const head = encodeState({ ...envelope, state: { ...parts.rest, [parts.largeKey]: marker } })
  const at = head.indexOf(JSON.stringify(marker))
  if (at < 0) throw new Error('snapshot marker lost in encoding')
  const chunks: string[] = [head.slice(0, at), '{"$m":[']
  let first = true
  let sliceStarted = performance.now()
  for (const entry of parts.entries()) {
    chunks.push(first ? encodeState(entry) : `,${encodeState(entry)}`)
    first = false
    if (performance.now() - sliceStarted > SLICE_MS) {
      await yieldToEvents()
      sliceStarted = performance.now()
    }
  }
  chunks.push(']}', head.slice(at + JSON.stringify(marker).length))
  return chunks.join('')
}

/**
 * Snapshots off the head loop: a small state is encoded when asked, a large one (`saveParts`) a
 * slice at a time as of the head it was asked at; the file is written asynchronously, and a request
 * made while a write runs replaces any queued one (the newest wins). `flush` waits for everything
 * asked so far to be on disk.
 */
export function createSnapshotWriter(dataDir: string, onError: (error: unknown) => void) {
  let writing: Promise<void> | undefined
  let queued: (() => Promise<string>) | undefined
  const file = snapshotPath(dataDir)
  const tmp = `${file}.${process.pid}.tmp`
  const writeLoop = async () => {
    await mkdir(dataDir, { recursive: true })
    while (queued !== undefined) {
      const encode = queued
      queued = undefined
      await writeFile(tmp, await encode())
      await rename(tmp, file)
    }
  }
  const start = () => {
    writing ??= writeLoop()
      .catch(onError)
      .finally(() => {
        writing = undefined
      })
  }
  const envelope = (meta: Omit<SnapshotMeta, 'format' | 'savedAt'>) => ({
    meta: { format: 2, savedAt: new Date().toISOString(), ...meta },
  })
  return {
    /** Encodes now (small states, and the last one at shutdown) and writes in the background. */
    save(meta: Omit<SnapshotMeta, 'format' | 'savedAt'>, state: unknown): void {
      const text = encodeState({ ...envelope(meta), state })
      queued = async () => text
      start()
    },
    /**
     * Encodes a large state a slice at a time, never holding a head for long. One at a time: while
     * one is being written a newer one is skipped (the next interval writes it; shutdown saves the
     * last state whole), since its parts would keep pre-images the whole time.
     */
    saveParts(meta: Omit<SnapshotMeta, 'format' | 'savedAt'>, parts: () => SnapshotParts): boolean {
      if (writing) return false
      const taken = parts()
      queued = async () => {
        try {
          return await encodeParts(envelope(meta), taken)
        } finally {
          taken.release()
        }
      }
      start()
      return true
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
