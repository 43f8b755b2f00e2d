#!/usr/bin/env node
/**
 * The `undertow` command line. This module is the process's error boundary: a UsageError or
 * FatalError prints one line and exits non-zero; nothing prints a stack trace unless UNDERTOW_DEBUG=1.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { registry } from '../strategies/index.js'
import { registerAccountsCommand } from './commands/accounts.js'
import { registerBacktestCommands } from './commands/backtest.js'
import { registerDemoCommand } from './commands/demo.js'
import { registerDeployExecutorCommand } from './commands/deployExecutor.js'
import { registerDevnetCommand } from './commands/devnet.js'
import { registerRunCommand } from './commands/run.js'
import { errorText, redact, UndertowError, UsageError } from './errors.js'
import type { StrategyRegistry } from './strategyModule.js'

/** Resolves on the first SIGINT or SIGTERM (the one place that listens for them). */
function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      resolve()
    }
    process.on('SIGINT', done)
    process.on('SIGTERM', done)
  })
}

/** The composition root: the only place in src/ that takes the strategy registry from strategies/. */
export function buildProgram(strategies: StrategyRegistry = registry): Command {
  const program = new Command()
    .name('undertow')
    .description('Competitive liquidation keeper for cross-margin protocols')
    .version('0.1.0')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
  registerDevnetCommand(program, strategies, waitForSignal)
  registerDemoCommand(program, strategies)
  registerAccountsCommand(program, strategies, process.env)
  registerRunCommand(program, strategies, process.env, waitForSignal)
  registerBacktestCommands(program, strategies, process.env)
  registerDeployExecutorCommand(program, strategies, process.env)
  for (const module of strategies.modules) module.registerCommands?.(program)
  for (const command of program.commands) {
    command.exitOverride()
    for (const sub of command.commands) sub.exitOverride()
  }
  return program
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv)
    return 0
  } catch (error) {
    return reportError(error)
  }
}

export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its one-line message (or the help/version text).
    return error.exitCode === 0 ||
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version'
      ? 0
      : 2
  }
  if (process.env.UNDERTOW_DEBUG === '1' && error instanceof Error)
    process.stderr.write(`${redact(String(error.stack))}\n`)
  if (error instanceof UsageError) {
    process.stderr.write(`undertow: ${error.message}\n`)
    return 2
  }
  if (error instanceof UndertowError) {
    process.stderr.write(`undertow: ${error.message}\n`)
    return 1
  }
  process.stderr.write(`undertow: unexpected error: ${errorText(error)}\n`)
  return 1
}

/** True when this file is the program (also through a symlink: npm's bin links, npx, npm i -g). */
function invokedDirectly(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (invokedDirectly()) {
  main(process.argv).then(
    (code) => process.exit(code),
    (error: unknown) => process.exit(reportError(error)),
  )
}
