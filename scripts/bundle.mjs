/**
 * Bundles the built CLI (dist/src/cli.js, from tsc) into one ES module, dist/undertow.js: what the
 * bin and the Docker image run. Why: Node resolves, reads and links every ES module separately, and
 * the CLI's graph is ~1,650 files (viem alone ~1,140), about a second of every start measured on a
 * 2-core machine; one file is linked once.
 *
 * Every module keeps the location it had in dist/: `import.meta.url` in each bundled file is
 * rewritten to that file's own place, so the paths it derives (contracts beside a strategy,
 * helpers.sol, the compile cache, createRequire) are exactly those of the unbundled build. The
 * entry keeps the bundle's own URL, so it still knows it is the program.
 *
 * Kept outside the bundle: packages that find files at run time (pino's transport workers, solc,
 * anvil's binary, secp256k1's native binding, ws's optional natives), and the Hermes client, which
 * the daemon loads only when a strategy streams prices (its module stays a separate file in dist/).
 */
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const entry = join(dist, 'src', 'cli.js')
const outfile = join(dist, 'undertow.js')
/** Our own modules loaded on demand: left as files, imported from the bundle by their dist path. */
const lazy = new Set([join(dist, 'src', 'prices', 'hermesStream.js')])

const ownLocations = {
  name: 'own-locations',
  setup(b) {
    b.onResolve({ filter: /^\./ }, (args) => {
      const path = resolve(args.resolveDir, args.path)
      if (!lazy.has(path)) return undefined
      return { path: `./${relative(dirname(outfile), path)}`, external: true }
    })
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist) || args.path === entry) return undefined
      const source = await readFile(args.path, 'utf8')
      if (!source.includes('import.meta.url')) return undefined
      const own = JSON.stringify(`./${relative(dirname(outfile), args.path)}`)
      return {
        contents: source.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`),
        loader: 'js',
      }
    })
  },
}

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
  external: [
    'pino',
    'pino-pretty',
    'prom-client',
    'ws',
    'solc',
    'secp256k1',
    '@foundry-rs/anvil',
    '@pythnetwork/hermes-client',
  ],
  // CommonJS packages inside the bundle call require() for Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [ownLocations],
})
