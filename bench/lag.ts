/**
 * Head lag at scale: `undertow run` (the built CLI) over a devnet mining every 250 ms, from a
 * snapshot with 100k synthetic borrowers, for 5 minutes, while pending oracle updates move prices
 * every few seconds. Reads `undertow_head_lag_blocks` and `undertow_head_block` from /metrics
 * against the node's own block number, and fails if the daemon ever falls behind for good.
 *
 *   npm run lag -- [--minutes 5] [--accounts 100000] [--block-time 0.25]
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort } from '../src/chain/startAnvil.js'
import { DEMO_LIQUIDATOR_KEY, sendPendingPrice } from '../src/demo.js'
import { devnetInfo } from '../src/devnet/devnetFile.js'
import { aaveDevnet, oraclePrice, startAaveDevnet } from '../strategies/aave-v3/devnet/index.js'
import { projectRoot } from '../test/support/helpers.js'
import { writeSyntheticSnapshot } from './syntheticSnapshot.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    accounts: { type: 'string', default: '100000' },
    'block-time': { type: 'string', default: '0.25' },
  },
})
const minutes = Number(values.minutes)
const accounts = Number(values.accounts)
const blockTime = Number(values['block-time'])
if (!(minutes > 0) || !(accounts > 0) || !(blockTime > 0)) {
  console.error('lag: --minutes, --accounts and --block-time must be positive numbers')
  process.exit(2)
}

const metric = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.split(' ')[1]) : undefined
}

const devnet = await startAaveDevnet({ accounts: 20, seed: 5, blockTimeSeconds: blockTime })
const dir = mkdtempSync(join(tmpdir(), 'undertow-lag-'))
let child: ReturnType<typeof spawn> | undefined
try {
  const devnetFile = join(dir, 'devnet.json')
  writeFileSync(devnetFile, JSON.stringify(devnetInfo(devnet)))
  const config = join(dir, 'config.json')
  writeFileSync(
    config,
    JSON.stringify({ devnet: devnetFile, blockTimeSeconds: blockTime, dataDir: join(dir, 'data') }),
  )
  await writeSyntheticSnapshot(devnet, join(dir, 'data'), accounts)
  const build = spawnSync('npm', ['run', 'build'], { cwd: projectRoot, encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`)
  const port = await freePort()
  child = spawn(
    process.execPath,
    [join(projectRoot, 'dist/undertow.js'), 'run', '--config', config, '--metrics-port', String(port)],
    {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', UNDERTOW_PRIVATE_KEY: DEMO_LIQUIDATOR_KEY },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  )
  const metricsUrl = `http://127.0.0.1:${port}/metrics`
  const ready = Date.now() + 120_000
  while (Date.now() < ready) {
    const text = await fetch(metricsUrl)
      .then((r) => r.text())
      .catch(() => '')
    if ((metric(text, 'undertow_head_block') ?? 0) > 0) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const symbols = ['WETH', 'WBTC', 'LINK']
  const base = new Map<string, number>()
  for (const symbol of symbols)
    base.set(symbol, Number(await oraclePrice(devnet.client, devnetInfo(devnet), symbol)) / 1e8)
  const run = { devnet, provider: aaveDevnet }
  const lags: number[] = []
  const chainLags: number[] = []
  let shocks = 0
  const end = Date.now() + minutes * 60_000
  let nextShock = Date.now() + 3_000
  while (Date.now() < end) {
    if (Date.now() >= nextShock) {
      // A pending update a few percent either way: ticks, then a block that moves the price.
      const symbol = symbols[shocks % symbols.length] as string
      const factor = 1 + (((shocks * 7919) % 11) - 5) / 100
      await sendPendingPrice(run, symbol, ((base.get(symbol) ?? 1) * factor).toFixed(4))
      shocks++
      nextShock = Date.now() + 5_000
    }
    const [text, chainHead] = await Promise.all([
      fetch(metricsUrl).then((r) => r.text()),
      devnet.client.getBlockNumber({ cacheTime: 0 }),
    ])
    lags.push(metric(text, 'undertow_head_lag_blocks') ?? 0)
    chainLags.push(Number(chainHead) - (metric(text, 'undertow_head_block') ?? 0))
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
  const p = (xs: number[], q: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0
  const tail = chainLags.slice(-20)
  console.log(
    `lag: ${accounts} accounts, ${blockTime} s blocks, ${minutes} min, ${shocks} price shocks, ${lags.length} samples`,
  )
  console.log(
    `  undertow_head_lag_blocks: p50 ${p(lags, 0.5)}, p99 ${p(lags, 0.99)}, max ${Math.max(...lags)}`,
  )
  console.log(
    `  node head − daemon head (blocks): p50 ${p(chainLags, 0.5)}, p99 ${p(chainLags, 0.99)}, max ${Math.max(...chainLags)}, last 5 s max ${Math.max(...tail)}`,
  )
  // Behind for good: the gap at the end is as large as the worst seen and more than a block or two.
  if (Math.max(...tail) > 4) {
    console.error('lag: the daemon fell behind the head')
    process.exitCode = 1
  }
} finally {
  child?.kill('SIGTERM')
  await devnet.stop()
}
