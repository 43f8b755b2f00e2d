/**
 * State overrides that let a dry run simulate from an address holding nothing, exactly as a funded
 * liquidator would: for each token the strategy needs, the storage slot of the address's balance and
 * of its allowance to the spender, found the way any ERC-20 can be "dealt" without knowing its
 * layout: list the slots `balanceOf`/`allowance` read (eth_createAccessList), then keep the one
 * whose override the token reads back. Proxies work too (their storage is the proxy's).
 *
 * Real balances are kept where the address has them: an override is added only for a zero balance
 * or allowance, so `--liquidator` with a real wallet simulates its real holdings.
 */
import {
  type Address,
  type Client,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
  numberToHex,
  parseAbi,
  type StateOverride,
} from 'viem'
import { call, createAccessList } from 'viem/actions'

const tokenAbi = parseAbi([
  'function balanceOf(address owner) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
])

/** What a dry-run sender is given: large but far from overflow in any token's arithmetic. */
const DEALT = 10n ** 36n
const NATIVE = 10n ** 24n

interface Read {
  token: Address
  data: Hex
}

async function readWord(client: Client, read: Read, stateOverride?: StateOverride): Promise<bigint> {
  const { data } = await call(client, {
    to: read.token,
    data: read.data,
    ...(stateOverride ? { stateOverride } : {}),
  })
  if (!data || data === '0x') return 0n
  return decodeFunctionResult({ abi: tokenAbi, functionName: 'balanceOf', data })
}

/** The (address, slot) whose value the read returns, or undefined if none of the slots it touches is it. */
async function findSlot(client: Client, read: Read): Promise<{ address: Address; slot: Hex } | undefined> {
  const { accessList } = await createAccessList(client, { to: read.token, data: read.data })
  for (const entry of accessList) {
    for (const slot of entry.storageKeys) {
      const probe = DEALT + 12_345n
      const value = await readWord(client, read, [
        { address: entry.address, stateDiff: [{ slot, value: numberToHex(probe, { size: 32 }) }] },
      ]).catch(() => undefined)
      if (value === probe) return { address: entry.address, slot }
    }
  }
  return undefined
}

export interface FundingNeed {
  token: Address
  spender: Address
}

export interface FundingOverrides {
  overrides: StateOverride
  /** Tokens whose layout could not be found: simulations needing them will revert and be reported. */
  unfunded: Address[]
}

export async function discoverFundingOverrides(
  client: Client,
  from: Address,
  needs: readonly FundingNeed[],
  nativeBalance: bigint,
): Promise<FundingOverrides> {
  const diffs = new Map<Address, { slot: Hex; value: Hex }[]>()
  const unfunded: Address[] = []
  const add = (address: Address, slot: Hex, value: bigint) => {
    const list = diffs.get(address) ?? []
    list.push({ slot, value: numberToHex(value, { size: 32 }) })
    diffs.set(address, list)
  }
  for (const { token, spender } of needs) {
    const reads: [Read, bigint][] = [
      [
        { token, data: encodeFunctionData({ abi: tokenAbi, functionName: 'balanceOf', args: [from] }) },
        DEALT,
      ],
      [
        {
          token,
          data: encodeFunctionData({ abi: tokenAbi, functionName: 'allowance', args: [from, spender] }),
        },
        2n ** 256n - 1n,
      ],
    ]
    for (const [read, value] of reads) {
      if ((await readWord(client, read)) > 0n) continue
      const found = await findSlot(client, read)
      if (found) add(found.address, found.slot, value)
      else if (!unfunded.includes(token)) unfunded.push(token)
    }
  }
  const overrides: StateOverride = [...diffs].map(([address, stateDiff]) => ({ address, stateDiff }))
  if (nativeBalance === 0n) {
    const own = overrides.find((o) => o.address.toLowerCase() === from.toLowerCase())
    if (own) own.balance = NATIVE
    else overrides.push({ address: from, balance: NATIVE })
  }
  return { overrides, unfunded }
}
