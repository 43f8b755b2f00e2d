/** Test helpers: chain snapshots and a CLI runner. Real anvil, real contracts; nothing here mocks. */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hex, PublicClient } from 'viem'
import { UsageError } from '../../src/errors.js'

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export async function snapshot(client: PublicClient): Promise<Hex> {
  return (await client.request({ method: 'evm_snapshot', params: [] } as never)) as Hex
}

export async function revert(client: PublicClient, id: Hex): Promise<void> {
  const ok = await client.request({ method: 'evm_revert', params: [id] } as never)
  if (ok !== true) throw new Error(`evm_revert ${id} failed`)
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI from source as a user would (through tsx), with a clean environment plus `env`. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src', 'cli.ts'), ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`undertow ${args.join(' ')} timed out`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/**
 * Runs the CLI and asserts the bad-input contract: a non-zero exit, exactly one line on stderr
 * matching `message`, no stack trace, and none of the `secrets` anywhere in the output.
 */
export async function expectOneLineError(
  args: string[],
  message: RegExp,
  env: Record<string, string> = {},
  secrets?: RegExp,
): Promise<void> {
  const { expect } = await import('vitest')
  const result = await runCli(args, env)
  const label = `${args.join(' ')}: ${result.stderr}`
  expect(result.code, label).not.toBe(0)
  expect(result.stderr.trim().split('\n'), label).toHaveLength(1)
  expect(result.stderr, label).toMatch(message)
  expect(result.stderr, label).not.toMatch(/\n\s+at /)
  if (secrets) expect(result.stderr + result.stdout, label).not.toMatch(secrets)
}

/** The message of the UsageError `f` throws (fails the test when it throws something else or nothing). */
export function usageErrorOf(f: () => unknown): string {
  try {
    f()
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    return error.message
  }
  throw new Error('expected a UsageError')
}
