/**
 * Structured logs (pino): JSON, or human-readable on a TTY. Private keys, signed transactions and RPC
 * URLs are redacted by key wherever they appear, and any string is scrubbed of URL credentials.
 */
import { type Logger, pino } from 'pino'

export type { Logger }

const REDACT_PATHS = [
  'privateKey',
  '*.privateKey',
  'key',
  '*.key',
  'signedTransaction',
  '*.signedTransaction',
  'serializedTransaction',
  '*.serializedTransaction',
  'rawTransaction',
  '*.rawTransaction',
  'rpcUrl',
  '*.rpcUrl',
  'rpcHttp',
  '*.rpcHttp',
  'rpcWs',
  '*.rpcWs',
  'url',
  '*.url',
  'headers.authorization',
]

export function createLogger(
  level: string,
  options: { pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && options.destination === undefined)
  const base = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'undertow' } }
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,app' },
      },
    })
  }
  return options.destination ? pino(base, options.destination as never) : pino(base)
}
