/**
 * The library entry point (`import { startGateway } from 'edgeplane'`): load
 * and check a config, start a gateway in this process, and the config's types.
 * The `edgeplane` command is the same pieces wired by src/cli.ts; anything not
 * exported here is internal and may change between versions.
 */
import { dirname, resolve } from 'node:path';
import { loadConfigFile } from './config/load.ts';
import type { Config } from './config/schema/index.ts';
import { Gateway } from './gateway.ts';
import { createLogger, type Logger } from './util/logger.ts';
import type { Clock } from './util/clock.ts';
import type { Rng } from './util/rng.ts';
import { EdgeplaneError } from './util/errors.ts';

export { parseConfig, loadConfigFile, validateConfig, checkConfig, type LoadOptions } from './config/load.ts';
export { checkConfigFile, type CheckedConfig } from './cli/check.ts';
export { ConfigSchema } from './config/schema/index.ts';
export type {
  Config,
  ListenerConfig,
  ClusterConfig,
  RouteConfig,
  JwtConfig,
  DnsConfig,
  GossipConfig,
  AdminConfig,
  HealthConfig,
  StoreConfig,
  EtcdStoreConfig,
  UnitConfig,
} from './config/schema/index.ts';
export { Gateway, type GatewayOptions, type GatewayAddresses, type AppliedSnapshot } from './gateway.ts';
export { EdgeplaneError, ConfigError, formatIssues, type ConfigIssue } from './util/errors.ts';
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './util/logger.ts';
export type { Clock } from './util/clock.ts';
export type { Rng } from './util/rng.ts';

export interface StartGatewayOptions {
  /** A config file (YAML or JSON); relative paths in it resolve against its directory. */
  configFile?: string;
  /** A config already loaded (`loadConfigFile`, `parseConfig`); then `baseDir` says where relative paths resolve (default: the working directory). */
  config?: Config;
  baseDir?: string;
  /** Default: a pino logger at the config's `logging.level`. */
  logger?: Logger;
  clock?: Clock;
  rng?: Rng;
}

/**
 * Loads (with `configFile`) and starts a gateway: listeners, admin, DNS and
 * gossip as the config says. Throws ConfigError for a bad config and cleans
 * up when anything fails to start; `close()` stops it, `drain()` first drains.
 */
export async function startGateway(options: StartGatewayOptions): Promise<Gateway> {
  if ((options.configFile === undefined) === (options.config === undefined)) {
    throw new EdgeplaneError('EP_START_OPTIONS', 'startGateway needs exactly one of configFile and config');
  }
  const configPath = options.configFile === undefined ? undefined : resolve(options.configFile);
  const config = configPath === undefined ? options.config! : loadConfigFile(configPath);
  const baseDir = options.baseDir ?? (configPath === undefined ? process.cwd() : dirname(configPath));
  const logger = options.logger ?? createLogger({ level: config.logging?.level });
  return Gateway.start({ config, ...(configPath !== undefined ? { configPath } : {}), baseDir, logger, ...(options.clock ? { clock: options.clock } : {}), ...(options.rng ? { rng: options.rng } : {}) });
}
