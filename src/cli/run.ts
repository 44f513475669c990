import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { writeFileSync, renameSync } from 'node:fs';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError, formatIssues } from '../util/errors.ts';
import { createLogger } from '../util/logger.ts';
import { Gateway } from '../gateway.ts';

export async function runCommand(args: string[]): Promise<number | void> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, 'ready-file': { type: 'string' } },
  });
  if (!values.config) {
    console.error('usage: edgeplane run --config FILE [--ready-file FILE]');
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
  await serveUntilSignalled(gateway, values['ready-file']);
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
  // logrotate's postrotate: the access log file is opened again (Node's inspector no longer claims SIGUSR1 once this is installed).
  process.on('SIGUSR1', () => gateway.reopenLogs());
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
