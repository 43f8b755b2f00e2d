/**
 * The built CLI as the bin and the Docker image run it: `npm run build` bundles it into one module
 * (dist/undertow.js), whose every file must still find what it finds beside itself in a checkout
 * (contracts to compile, the compile cache, anvil's binary, the native signer). Run from another
 * directory, it starts the perps devnet (compiles the clearinghouse, deploys, serves Hermes),
 * and refuses bad input in one line.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { httpClient } from '../../src/chain/rpc.js'
import { projectRoot } from '../support/helpers.js'

const bundle = join(projectRoot, 'dist', 'undertow.js')
const elsewhere = mkdtempSync(join(tmpdir(), 'undertow-bundle-'))

beforeAll(() => {
  const build = spawnSync('npm', ['run', 'build'], { cwd: projectRoot, encoding: 'utf8' })
  expect(build.status, `${build.stdout}${build.stderr}`).toBe(0)
}, 120_000)

describe('the bundled CLI', () => {
  it('starts the perps devnet from another directory and stops on SIGINT', async () => {
    const file = join(elsewhere, 'devnet.json')
    const child = spawn(
      process.execPath,
      [bundle, 'devnet', '--protocol', 'xmargin-perps', '--accounts', '5', '--out', file],
      { cwd: elsewhere, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    let out = ''
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString()
          if (out.includes('devnet ready')) resolve()
        })
        child.stderr?.on('data', (d: Buffer) => {
          out += d.toString()
        })
        child.on('exit', (code) => reject(new Error(`devnet exited early with ${code}: ${out}`)))
      })
      const info = JSON.parse(readFileSync(file, 'utf8')) as {
        protocol: string
        rpcUrl: string
        chainId: number
        addresses: { clearinghouse: `0x${string}` }
      }
      expect(info.protocol).toBe('xmargin-perps')
      const code = await httpClient(info.rpcUrl, info.chainId).getCode({
        address: info.addresses.clearinghouse,
      })
      expect(code?.length ?? 0).toBeGreaterThan(1_000)
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(0)
  }, 120_000)

  it('refuses a bad flag in one line with exit 2 (over the devnet file written above)', () => {
    const result = spawnSync(
      process.execPath,
      [bundle, 'run', '--devnet', join(elsewhere, 'devnet.json'), '--min-profit-usd', 'lots'],
      {
        cwd: elsewhere,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
      },
    )
    expect(result.status).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining('min profit')])
  })
})
