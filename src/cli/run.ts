import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { writeFileSync, renameSync } from 'node:fs';
import { createLogger } from '../util/logger.ts';
import { Gateway } from '../gateway.ts';
import { ConfigFileWatch } from '../control/config-file-watch.ts';
import { checkConfigFile } from './check.ts';
import { USAGES } from './usage.ts';

export async function runCommand(args: string[]): Promise<number | void> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, 'ready-file': { type: 'string' }, watch: { type: 'boolean' } },
  });
  if (!values.config) {
    console.error(`edgeplane run: --config is required\n\n${USAGES.run}`);
    return 2;
  }
  const configPath = resolve(values.config);
  // The same checks as `edgeplane validate`, plus a busy admin port: a refused start binds nothing and persists nothing.
  const checked = await checkConfigFile(configPath, { probePorts: true });
  if (!checked.config || checked.errors.length > 0) {
    console.error(`edgeplane run: ${configPath}: not started\n${checked.errors.join('\n')}`);
    return 1;
  }
  const config = checked.config;
  const logger = createLogger({ level: config.logging?.level });
  for (const w of checked.warnings) logger.warn(w);
  if (config.listeners.length === 0) logger.info('DNS-only gateway: the config has no listeners, so no HTTP is served (the dns section and the admin API are)');
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
