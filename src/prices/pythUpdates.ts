/**
 * MockPyth's update blobs: `abi.encode(PriceFeed(id, Price price, Price emaPrice), uint64
 * prevPublishTime)` with `Price = (int64 price, uint64 conf, int32 expo, uint publishTime)`, as
 * MockPyth.createPriceFeedUpdateData builds them (real Pyth carries Wormhole-signed accumulator
 * updates in the same place). Pure encoding and decoding.
 */
import { decodeAbiParameters, encodeAbiParameters, type Hex, parseAbiParameters } from 'viem'
import type { StreamedFeed } from '../types.js'

const UPDATE = parseAbiParameters(
  '(bytes32 id, (int64 price, uint64 conf, int32 expo, uint256 publishTime) price, (int64 price, uint64 conf, int32 expo, uint256 publishTime) emaPrice) feed, uint64 prevPublishTime',
)

export function encodePriceUpdate(feed: StreamedFeed & { conf?: bigint }, prevPublishTime = 0n): Hex {
  const price = { price: feed.price, conf: feed.conf ?? 0n, expo: feed.expo, publishTime: feed.publishTime }
  return encodeAbiParameters(UPDATE, [{ id: feed.id as Hex, price, emaPrice: price }, prevPublishTime])
}

/** Decodes update blobs; a blob that is not a MockPyth update is skipped. */
export function decodePriceUpdates(updates: readonly Hex[]): StreamedFeed[] {
  const out: StreamedFeed[] = []
  for (const data of updates) {
    try {
      const [feed] = decodeAbiParameters(UPDATE, data)
      out.push({
        id: feed.id.toLowerCase(),
        price: feed.price.price,
        expo: feed.price.expo,
        publishTime: feed.price.publishTime,
      })
    } catch {
      // Not a MockPyth update (e.g. a Wormhole accumulator blob): no price to read from it.
    }
  }
  return out
}
