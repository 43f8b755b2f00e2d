/**
 * The error tree. Every failure is classified once, here: user input and configuration problems are
 * fatal (one line, non-zero exit), transient IO problems are retryable. Messages never carry secrets:
 * callers pass redacted values, and `redact()` scrubs URLs with credentials as a last line of defence.
 */
export class UndertowError extends Error {
  override readonly name: string = 'UndertowError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(redact(message), options)
  }
}

/** Bad input: flags, config, files. Printed as one line, exit code 2. */
export class UsageError extends UndertowError {
  override readonly name: string = 'UsageError'
}

/**
 * A saved state (a snapshot, a dataset) that does not match its strategy's schema: bad input when a
 * user hands it over (a backtest's dataset: one line, exit 2), but a damaged cache when the daemon
 * reads its own snapshot, which it then rebuilds from logs instead of refusing to start.
 */
export class CorruptStateError extends UsageError {
  override readonly name = 'CorruptStateError'
}

/** A condition that will not go away by retrying (wrong chain, unknown protocol revision). */
export class FatalError extends UndertowError {
  override readonly name = 'FatalError'
}

/** A transient failure (network, rate limit, node lagging): safe to retry with backoff. */
export class RetryableError extends UndertowError {
  override readonly name = 'RetryableError'
}

const TRANSIENT =
  /HttpRequestError|WebSocketRequestError|TimeoutError|SocketClosedError|LimitExceededRpcError|InternalRpcError/
/** JSON-RPC codes providers use for "slow down": -32005 (limit exceeded), -32007 (QuickNode), 429. */
const RATE_LIMIT_CODES = new Set([-32005, -32007, 429])

/**
 * Whether an error is transient (worth retrying with backoff), classified once for the whole
 * program: our own classes decide; otherwise viem's transport failures, found anywhere in the
 * cause chain (a contract read wraps the HTTP error that caused it), and rate-limit codes.
 */
export function shouldRetry(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RetryableError) return true
    if (e instanceof UndertowError) return false
    if (!(e instanceof Error)) break
    if (TRANSIENT.test(e.name)) return true
    const code = (e as { code?: unknown }).code
    if (typeof code === 'number' && RATE_LIMIT_CODES.has(code)) return true
  }
  return false
}

/**
 * Runs a step, retrying transient failures with exponential backoff (bounded); anything else, and
 * the last transient failure, is thrown as it is. Startup goes through this, so a rate limit or a
 * dropped socket never ends the process while a misconfiguration still fails at once.
 */
export async function retryTransient<T>(
  step: string,
  fn: () => Promise<T>,
  options: {
    attempts?: number
    baseMs?: number
    onRetry?: (step: string, error: unknown, delayMs: number) => void
  } = {},
): Promise<T> {
  const attempts = options.attempts ?? 8
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (attempt >= attempts || !shouldRetry(error)) throw error
      const delay = Math.min(10_000, (options.baseMs ?? 250) * 2 ** (attempt - 1))
      options.onRetry?.(step, error, delay)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+(?::[^/\s@]*)?@)/gi
const HEX_KEY = /\b0x[0-9a-fA-F]{64}\b/g
/** Signed transactions and calldata: long hex blobs never need to be in a log line. */
const HEX_BLOB = /\b0x[0-9a-fA-F]{130,}/g

/**
 * Removes URL credentials (user:pass@) and anything shaped like a private key from a string.
 * Hashes share the shape of a key; error messages that need a hash name it by context instead.
 */
export function redact(text: string): string {
  return text
    .replace(URL_CREDENTIALS, '$1***@')
    .replace(HEX_BLOB, '0x<bytes>')
    .replace(HEX_KEY, '0x<redacted>')
}

/** Strips the path and query of a URL (where providers put API tokens) for display. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    const hasToken = parsed.pathname.length > 1 || parsed.search.length > 0 || parsed.username !== ''
    return `${parsed.protocol}//${parsed.host}${hasToken ? '/…' : ''}`
  } catch {
    return '<invalid url>'
  }
}

/**
 * One line about an error that is safe to log: viem errors give their short message and the node's
 * detail, never the request URL or body (which can carry an RPC token or a signed transaction).
 */
export function errorText(error: unknown): string {
  const e = error as { shortMessage?: unknown; details?: unknown; message?: unknown }
  let text: string
  if (typeof e?.shortMessage === 'string') {
    text =
      typeof e.details === 'string' && e.details !== '' ? `${e.shortMessage} ${e.details}` : e.shortMessage
  } else {
    text = typeof e?.message === 'string' ? e.message : String(error)
  }
  return redact(text.split('\n')[0] ?? '')
}
