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
  override readonly name = 'UsageError'
}

/** A condition that will not go away by retrying (wrong chain, unknown protocol revision). */
export class FatalError extends UndertowError {
  override readonly name = 'FatalError'
}

/** A transient failure (network, rate limit, node lagging): safe to retry with backoff. */
export class RetryableError extends UndertowError {
  override readonly name = 'RetryableError'
}

export function shouldRetry(error: unknown): boolean {
  if (error instanceof RetryableError) return true
  if (error instanceof UndertowError) return false
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error)
  // viem's transport errors are classified by their class names, not by the node's message text.
  return /HttpRequestError|WebSocketRequestError|TimeoutError|SocketClosedError|LimitExceededRpcError/.test(
    text,
  )
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
