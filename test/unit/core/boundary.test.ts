/**
 * The plugin boundary: no core folder imports a strategy (only the CLI, the composition root,
 * takes the registry), and no strategy imports another strategy.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../support/helpers.js'

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

const importsOf = (path: string) =>
  [...readFileSync(path, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map(
    (m) => m[1] as string,
  )

describe('plugin boundary', () => {
  it('src/ imports strategies/ only in the CLI, and only the registry', () => {
    const offenders: string[] = []
    for (const file of tsFiles(join(projectRoot, 'src')))
      for (const spec of importsOf(file))
        if (/(^|\/)strategies\//.test(spec)) offenders.push(`${relative(projectRoot, file)} → ${spec}`)
    expect(offenders).toEqual(['src/cli.ts → ../strategies/index.js'])
  })

  it('a strategy imports no other strategy', () => {
    const root = join(projectRoot, 'strategies')
    const offenders: string[] = []
    for (const name of readdirSync(root)) {
      const dir = join(root, name)
      if (!statSync(dir).isDirectory()) continue
      for (const file of tsFiles(dir))
        for (const spec of importsOf(file)) {
          const target = relative(root, join(file, '..', spec))
          if (spec.startsWith('.') && !target.startsWith('..') && target.split('/')[0] !== name)
            offenders.push(`${relative(projectRoot, file)} → ${spec}`)
        }
    }
    expect(offenders).toEqual([])
  })
})
