/**
 * The devnet description file (`undertow devnet --out`): where the node is and what was deployed.
 * The core reads only its chain fields; `addresses` belongs to the protocol named by `protocol`,
 * whose module validates it.
 */
import { readFileSync } from 'node:fs'
import type { Address } from 'viem'
import { z } from 'zod'
import { UsageError } from '../errors.js'

export interface DevnetInfo {
  /** The strategy whose deployment this is (files written before it was recorded: the default). */
  protocol?: string | undefined
  rpcUrl: string
  wsUrl: string
  chainId: number
  addresses: Record<string, unknown>
  accounts: Address[]
  /** A pull oracle's off-chain price service (Hermes API), when the protocol uses one. */
  priceServiceUrl?: string | undefined
  /** The local block builder's bundle endpoint (`devnet --builder`) and the fee recipient of its blocks. */
  builderUrl?: string | undefined
  builderFeeRecipient?: Address | undefined
}

const devnetFileSchema = z.object({
  protocol: z.string().optional(),
  rpcUrl: z.string().regex(/^https?:\/\/./),
  wsUrl: z.string().optional(),
  chainId: z.number().int().positive(),
  addresses: z.record(z.string(), z.unknown()),
  accounts: z.array(z.string()).optional(),
  priceServiceUrl: z
    .string()
    .regex(/^https?:\/\/./)
    .optional(),
  builderUrl: z
    .string()
    .regex(/^https?:\/\/./)
    .optional(),
  builderFeeRecipient: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/)
    .optional(),
})

export function devnetInfo(devnet: DevnetInfo): DevnetInfo {
  const { protocol, rpcUrl, wsUrl, chainId, addresses, accounts, priceServiceUrl, builderUrl } = devnet
  return {
    protocol,
    rpcUrl,
    wsUrl,
    chainId,
    ...(priceServiceUrl ? { priceServiceUrl } : {}),
    ...(builderUrl ? { builderUrl, builderFeeRecipient: devnet.builderFeeRecipient } : {}),
    addresses,
    accounts,
  }
}

export function readDevnetFile(path: string): DevnetInfo {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new UsageError(`devnet file ${path} cannot be read (does it exist?)`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new UsageError(`devnet file ${path} is not valid JSON`)
  }
  const result = devnetFileSchema.safeParse(parsed)
  if (!result.success)
    throw new UsageError(`devnet file ${path} is not a devnet description (written by undertow devnet --out)`)
  const info = result.data
  return {
    protocol: info.protocol,
    rpcUrl: info.rpcUrl,
    wsUrl: info.wsUrl ?? info.rpcUrl.replace(/^http/, 'ws'),
    chainId: info.chainId,
    addresses: info.addresses,
    accounts: (info.accounts ?? []) as Address[],
    priceServiceUrl: info.priceServiceUrl,
    builderUrl: info.builderUrl,
    builderFeeRecipient: info.builderFeeRecipient as Address | undefined,
  }
}
