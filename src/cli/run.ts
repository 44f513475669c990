import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { writeFileSync, renameSync } from 'node:fs';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError, formatIssues } from '../util/errors.ts';
import { createLogger } from '../util/logger.ts';
import { Gateway } from '../gateway.ts';
import { ConfigFileWatch } from '../control/config-file-watch.ts';

export async function runCommand(args: string[]): Promise<number | void> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, 'ready-file': { type: 'string' }, watch: { type: 'boolean' } },
  });
  if (!values.config) {
    console.error('usage: edgeplane run --config FILE [--watch] [--ready-file FILE]');
    return 2;
  }
  const configPath = resolve(values.config);
  let config;
  try {
    config = loadConfigFile(configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${configPath}: invalid config\n${formatIssues(err.issues)}`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger({ level: config.logging?.level });
  const gateway = await Gateway.start({ config, configPath, baseDir: dirname(configPath), logger });
  // --watch (or `watch: true` in the file as started): a changed file is applied like SIGHUP; a bad one is logged and changes nothing.
  let fileWatch: ConfigFileWatch | null = null;
  if (values.watch || config.watch) {
    fileWatch = new ConfigFileWatch({ path: configPath, reload: () => gateway.reloadFromFile(), logger: logger.child({ component: 'config-watch' }) });
    await fileWatch.start();
  }
  await serveUntilSignalled(gateway, values['ready-file'], {}, async () => fileWatch?.close());
}

/**
 * Installs the signal handlers every long-running command shares: SIGHUP
 * reloads the config file, SIGTERM/SIGINT drain and exit 0 (a second SIGINT
 * exits at once), and writes the bound addresses to the ready file.
 */
export async function serveUntilSignalled(gateway: Gateway, readyFile: string | undefined, extra: Record<string, unknown> = {}, onStop?: () => Promise<void>): Promise<void> {
  const addresses = { ...gateway.addresses(), ...extra };
  gateway.logger.info({ ...addresses }, 'edgeplane is serving');
  if (readyFile) {
    // Written atomically so a poller never reads half a file.
    const tmp = `${readyFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(addresses));
    renameSync(tmp, readyFile);
  }
  process.on('SIGHUP', () => void gateway.reloadFromFile());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      if (signal === 'SIGINT') process.exit(130);
      return;
    }
    stopping = true;
    gateway.logger.info({ signal }, 'shutting down');
    const { unfinished } = await gateway.drain();
    await onStop?.();
    gateway.logger.info({ unfinished }, 'stopped');
    gateway.logger.flush?.();
    setTimeout(() => process.exit(0), 50).unref();
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
