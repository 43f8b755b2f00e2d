/** Secrets never reach a log line: redact() and displayUrl() on the shapes they take. */
import { describe, expect, it } from 'vitest'
import { displayUrl, errorText, redact } from '../../../src/errors.js'

const KEY = `0x${'ab'.repeat(32)}`

describe('redact', () => {
  const cases: [string, string][] = [
    ['https://user:hunter2@node.example/v3', 'https://***@node.example/v3'],
    ['wss://alice@node.example', 'wss://***@node.example'],
    [`key ${KEY} leaked`, 'key 0x<redacted> leaked'],
    [`signed 0x02f8${'a'.repeat(200)} sent`, 'signed 0x<bytes> sent'],
    ['nothing secret here 0x1234', 'nothing secret here 0x1234'],
  ]
  for (const [input, output] of cases)
    it(JSON.stringify(input.slice(0, 40)), () => expect(redact(input)).toBe(output))
})

describe('displayUrl', () => {
  const cases: [string, string][] = [
    ['https://eth-mainnet.g.alchemy.com/v2/SECRETTOKEN', 'https://eth-mainnet.g.alchemy.com/…'],
    ['http://127.0.0.1:8545', 'http://127.0.0.1:8545'],
    ['wss://node.example/?apikey=TOKEN123', 'wss://node.example/…'],
    ['https://user:pw@node.example', 'https://node.example/…'],
    ['not a url', '<invalid url>'],
  ]
  for (const [input, output] of cases) it(input, () => expect(displayUrl(input)).toBe(output))
})

describe('errorText', () => {
  it('is one redacted line', () => {
    expect(errorText(new Error(`first ${KEY}\nsecond line`))).toBe('first 0x<redacted>')
  })
})

describe('shouldRetry', () => {
  it('retries transport failures and RetryableError, never usage or fatal errors or node rejections', async () => {
    const { HttpRequestError, TimeoutError, RpcRequestError } = await import('viem')
    const { FatalError, RetryableError, UsageError, shouldRetry } = await import('../../../src/errors.js')
    expect(shouldRetry(new HttpRequestError({ url: 'http://x', status: 502 }))).toBe(true)
    expect(shouldRetry(new TimeoutError({ body: {}, url: 'http://x' }))).toBe(true)
    expect(shouldRetry(new RetryableError('lagging node'))).toBe(true)
    expect(shouldRetry(new UsageError('bad flag'))).toBe(false)
    expect(shouldRetry(new FatalError('wrong chain'))).toBe(false)
    expect(
      shouldRetry(
        new RpcRequestError({
          body: {},
          url: 'http://x',
          error: { code: -32602, message: 'invalid params' },
        }),
      ),
    ).toBe(false)
  })
})
