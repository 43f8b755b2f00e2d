/**
 * Starts the anvil binary that ships in `@foundry-rs/anvil` on a free loopback port and stops it on
 * demand or when this process exits. Never a fixed port, never a global install.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { FatalError } from '../errors.js'

export interface AnvilOptions {
  chainId?: number
  /** Interval mining in seconds; undefined means automine. */
  blockTimeSeconds?: number
  /** anvil's --order (fees by default). */
  order?: 'fees' | 'fifo'
  forkUrl?: string
  forkBlockNumber?: bigint
  timestamp?: bigint
  extraArgs?: string[]
  startTimeoutMs?: number
}

export interface AnvilInstance {
  rpcUrl: string
  wsUrl: string
  port: number
  chainId: number
  process: ChildProcess
  stop(): Promise<void>
}

const require = createRequire(import.meta.url)

/** Absolute path of the platform binary inside node_modules (the npm package ships it). */
export function anvilBinaryPath(): string {
  const platform = `${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`
  const pkg = `@foundry-rs/anvil-${platform}`
  try {
    const pkgJson = require.resolve(`${pkg}/package.json`)
    return join(dirname(pkgJson), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
  } catch (error) {
    throw new FatalError(`anvil binary for ${platform} is not installed (npm package ${pkg}); run npm ci`, {
      cause: error,
    })
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new FatalError('could not allocate a loopback port'))
        return
      }
      server.close(() => resolve(address.port))
    })
  })
}

const running = new Map<ChildProcess, string>()
let exitHookInstalled = false
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Synchronous last resort: a crashed test or daemon must not leave anvil processes (or their
  // state caches) behind.
  process.on('exit', () => {
    for (const [child, cache] of running) {
      child.kill('SIGKILL')
      removeCache(cache)
    }
  })
}

/**
 * anvil writes historical states it cannot keep in memory to its cache path (by default under
 * ~/.foundry/anvil/tmp, never cleaned: a few MB per block, gigabytes per long test run). Each
 * instance gets its own directory, removed when it stops.
 */
function removeCache(cache: string) {
  try {
    rmSync(cache, { recursive: true, force: true })
  } catch {
    // Best effort: a leftover temporary directory is not worth failing a shutdown for.
  }
}

export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilInstance> {
  const binary = anvilBinaryPath()
  const chainId = options.chainId ?? 31337
  // The port is free when probed; another process could take it before anvil binds, so retry.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    try {
      return await launch(binary, port, chainId, options)
    } catch (error) {
      if (attempt >= 3) throw error
    }
  }
}

async function launch(
  binary: string,
  port: number,
  chainId: number,
  options: AnvilOptions,
): Promise<AnvilInstance> {
  const cache = mkdtempSync(join(tmpdir(), 'undertow-anvil-'))
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId)]
  args.push(
    '--cache-path',
    cache,
    '--accounts',
    '10',
    '--balance',
    '1000000',
    '--gas-limit',
    '60000000',
    '--code-size-limit',
    '100000',
  )
  if (options.blockTimeSeconds !== undefined) args.push('--block-time', String(options.blockTimeSeconds))
  if (options.order) args.push('--order', options.order)
  if (options.forkUrl) args.push('--fork-url', options.forkUrl, '--no-rate-limit')
  if (options.forkBlockNumber !== undefined)
    args.push('--fork-block-number', options.forkBlockNumber.toString())
  if (options.timestamp !== undefined) args.push('--timestamp', options.timestamp.toString())
  if (options.extraArgs) args.push(...options.extraArgs)

  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  running.set(child, cache)
  installExitHook()

  await new Promise<void>((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new FatalError(`anvil did not start within ${options.startTimeoutMs ?? 20_000} ms`))
    }, options.startTimeoutMs ?? 20_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Listening on')) {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        // Keep draining so anvil never blocks on a full pipe.
        child.stdout?.resume()
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      running.delete(child)
      removeCache(cache)
      reject(
        new FatalError(`anvil exited with code ${code}: ${output.trim().split('\n').slice(-3).join(' | ')}`),
      )
    })
  })

  let stopped: Promise<void> | undefined
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    chainId,
    process: child,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          running.delete(child)
          removeCache(cache)
          resolve()
          return
        }
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 3000)
        child.once('exit', () => {
          clearTimeout(killTimer)
          running.delete(child)
          removeCache(cache)
          resolve()
        })
        child.kill('SIGTERM')
      })
      return stopped
    },
  }
}
