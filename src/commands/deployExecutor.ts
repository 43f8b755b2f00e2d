/**
 * `undertow deploy-executor`: deploys the strategy's executor contract (flash liquidations) owned by
 * the liquidator key, and prints the address to put in the config. Nothing else is sent.
 */
import type { Command } from 'commander'
import { connectHttp } from '../chain/connect.js'
import { parseConfig } from '../config.js'
import { loadSigner } from '../daemon.js'
import { UsageError } from '../errors.js'
import type { StrategyRegistry } from '../strategyModule.js'
import { addTargetOptions, targetFlags } from './targetOptions.js'

export function registerDeployExecutorCommand(
  program: Command,
  registry: StrategyRegistry,
  env: Record<string, string | undefined>,
): void {
  addTargetOptions(
    program
      .command('deploy-executor')
      .description("deploy the strategy's flash-liquidation contract, owned by the liquidator key"),
    registry,
  )
    .option(
      '--private-key-env <name>',
      'environment variable holding the liquidator key, the owner (default UNDERTOW_PRIVATE_KEY)',
    )
    .action(async (options: Record<string, unknown>) => {
      const config = parseConfig(targetFlags(options, registry), env, registry)
      const contract = config.module.executorContract
      if (!contract)
        throw new UsageError(`the ${config.module.name} strategy has no executor contract to deploy`)
      const purpose = 'it must hold the liquidator key, which will own the contract'
      const signer = loadSigner(config, env, purpose)
      if (!signer)
        throw new UsageError(`environment variable ${config.execution.privateKeyEnv} is not set (${purpose})`)
      const { client, chainId } = await connectHttp(config.rpcHttp, config.chainId)
      const { address, hash } = await contract.deploy(client, signer, chainId, config.target.options)
      process.stdout.write(
        `${contract.description} deployed at ${address} (owner ${signer.address}, transaction ${hash})\n` +
          `use it with ${contract.flag} ${address}, or set market.${contract.configKey} in the config\n`,
      )
    })
}
