/**
 * anvil's test RPC methods (mining, time, balances, impersonation) as viem's typed test actions,
 * for devnets, forks and tests: no untyped `request` calls.
 */
import { type PublicClient, testActions } from 'viem'

export function devActions(client: PublicClient) {
  return client.extend(testActions({ mode: 'anvil' }))
}
