/**
 * Restart: `undertow run` as a new process over a snapshot of 100k accounts (the devnet's market with
 * synthetic borrowers added), timed from spawn to the first 200 from /healthz. The process is the
 * built CLI (`npm run build`, as the Docker image and an installed bin run it), not tsx.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../src/chain/startAnvil.js'
import { DEMO_LIQUIDATOR_KEY } from '../src/demo.js'
import { devnetInfo } from '../src/devnet/devnetFile.js'
import { startAaveDevnet } from '../strategies/aave-v3/devnet/index.js'
import { projectRoot } from '../test/support/helpers.js'
import { record } from './figures.js'
import { writeSyntheticSnapshot } from './syntheticSnapshot.js'

const ACCOUNTS = 100_000

export async function benchRestart(): Promise<string[]> {
  const devnet = await startAaveDevnet({ accounts: 5, seed: 9 })
  const dir = mkdtempSync(join(tmpdir(), 'undertow-restart-'))
  try {
    const devnetFile = join(dir, 'devnet.json')
    writeFileSync(devnetFile, JSON.stringify(devnetInfo(devnet)))
    await writeSyntheticSnapshot(devnet, join(dir, 'data'), ACCOUNTS)
    const build = spawnSync('npm', ['run', 'build'], { cwd: projectRoot, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`)
    /** Spawns the daemon, waits for /healthz, stops it: ms to healthy, and its log. */
    const startOnce = async (): Promise<{ healthyMs: number | undefined; out: string }> => {
      const port = await freePort()
      const started = performance.now()
      const child = spawn(
        process.execPath,
        [
          join(projectRoot, 'dist/undertow.js'),
          'run',
          '--devnet',
          devnetFile,
          '--metrics-port',
          String(port),
          '--data-dir',
          join(dir, 'data'),
          '--log-level',
          'info',
        ],
        {
          cwd: projectRoot,
          env: { PATH: process.env.PATH ?? '', UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
      })
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString()
      })
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
      let healthyMs: number | undefined
      const deadline = Date.now() + 60_000
      while (healthyMs === undefined && Date.now() < deadline && child.exitCode === null) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/healthz`)
          if (response.status === 200) healthyMs = performance.now() - started
        } catch {
          // not listening yet
        }
        if (healthyMs === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
      }
      child.kill('SIGTERM')
      await exited
      return { healthyMs, out }
    }
    // The first start sends the liquidator's approvals; a restart finds them in place.
    await startOnce()
    const { healthyMs, out } = await startOnce()
    if (healthyMs === undefined) throw new Error(`the daemon never became healthy:\n${out.slice(-2_000)}`)
    if (!out.includes('mirror restored')) throw new Error('the daemon did not start from the snapshot')
    record('restart_100k_ms', healthyMs)
    return [
      `restart: a new process over a ${ACCOUNTS / 1000}k-account snapshot is healthy after ${healthyMs.toFixed(0)} ms`,
    ]
  } finally {
    await devnet.stop()
  }
}
