import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync, renameSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Config, EtcdStoreConfig } from '../config/schema/index.ts';
import { parseConfig } from '../config/load.ts';
import { ConfigError, formatIssues } from '../util/errors.ts';
import { createLogger } from '../util/logger.ts';
import { systemClock } from '../util/clock.ts';
import { readStateDocument, StateDir } from '../control/persistence.ts';
import { VersionHistory } from '../control/history.ts';
import { CONFIG_DOCUMENT } from '../control/file-store.ts';
import { chooseStartupConfig } from '../control/startup-rule.ts';
import { EtcdConfigStore } from '../control/etcd-store.ts';
import { withNodeLocal } from '../control/node-local.ts';
import { withVersion } from '../control/config-equal.ts';
import { ControlError } from '../control/errors.ts';
import { fileVersionOf, historyLimitOf, stateDirOf } from '../control/options.ts';

export const USAGE = [
  'usage: edgeplane store import --config FILE [--state-dir DIR] [--endpoints URL,...] [--prefix P]',
  '       edgeplane store export --config FILE [--endpoints URL,...] [--prefix P] [--output FILE]',
  '',
  'import: makes the effective config of FILE (the file, or its state directory\'s admin changes',
  '        when they are newer, as a file-store gateway would start) the fleet\'s next version in etcd.',
  'export: prints the fleet\'s current version from etcd as a config file, with FILE\'s node-local sections.',
  'etcd comes from FILE\'s store.etcd section, or --endpoints and --prefix.',
].join('\n');

/** `edgeplane store import|export`: moves a config between a file (or a file store) and the etcd store. */
export async function storeCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'import' && sub !== 'export') {
    console.error(USAGE);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: 'string', short: 'c' }, 'state-dir': { type: 'string' }, endpoints: { type: 'string' }, prefix: { type: 'string' }, output: { type: 'string', short: 'o' } },
  });
  if (!values.config) {
    console.error(USAGE);
    return 2;
  }
  const filePath = resolve(values.config);
  let fileConfig: Config;
  try {
    fileConfig = parseConfig(readFileSync(filePath, 'utf8'), { name: filePath });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${filePath}: invalid config\n${formatIssues(err.issues)}`);
      return 1;
    }
    console.error(`edgeplane: cannot read ${filePath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return 1;
  }
  const etcd: EtcdStoreConfig | undefined = values.endpoints || values.prefix
    ? { ...(fileConfig.store?.etcd ?? {}), endpoints: (values.endpoints ?? fileConfig.store?.etcd?.endpoints?.join(',') ?? '').split(',').filter(Boolean), prefix: values.prefix ?? fileConfig.store?.etcd?.prefix ?? '' }
    : fileConfig.store?.etcd;
  if (!etcd || !etcd.endpoints.length || !etcd.prefix) {
    console.error('edgeplane: no etcd to talk to: give the file a store.etcd section, or --endpoints and --prefix');
    return 2;
  }
  // The store keeps nothing of its own here: a throwaway state dir for the last-known-good it would write.
  const scratch = mkdtempSync(join(tmpdir(), 'edgeplane-store-'));
  const store = await EtcdConfigStore.open({
    etcd,
    baseDir: dirname(filePath),
    stateDir: await StateDir.open(scratch),
    historyLimit: historyLimitOf(fileConfig),
    apply: async () => {},
    logger: createLogger({ level: 'error' }),
    clock: systemClock,
  });
  try {
    if (sub === 'import') {
      const effective = await effectiveConfig(fileConfig, filePath, values['state-dir']);
      const result = await store.importConfig(effective.config, `store import ${filePath} (${effective.from})`);
      console.error(result.changed ? `imported ${effective.from} as version ${result.version} under ${etcd.prefix}` : `unchanged: version ${result.version} under ${etcd.prefix} already holds this config`);
      return 0;
    }
    const head = await store.exportHead();
    if (!head) {
      console.error(`edgeplane: nothing stored under ${etcd.prefix}`);
      return 1;
    }
    const out = withVersion(withNodeLocal(head.config as unknown as Record<string, unknown>, fileConfig) as unknown as Config, head.version);
    const yaml = `# edgeplane fleet config, version ${head.version} from etcd ${etcd.prefix} (${head.source} by ${head.author} at ${head.at}, "${head.change}").\n# Node-local sections are ${filePath}'s; secrets print as "[redacted]": give them as \${ENV}.\n${stringify(out, { lineWidth: 0 })}`;
    if (values.output) {
      const tmp = `${values.output}.tmp`;
      writeFileSync(tmp, yaml);
      renameSync(tmp, values.output);
    } else process.stdout.write(yaml);
    console.error(`exported version ${head.version}`);
    return 0;
  } catch (err) {
    if (err instanceof ControlError || err instanceof ConfigError) {
      console.error(`edgeplane: ${err.message}`);
      return 1;
    }
    console.error(`edgeplane: cannot reach etcd at ${etcd.endpoints.join(',')}: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What a file-store gateway started from this file would run (the startup rule), so a migration loses no admin change. */
async function effectiveConfig(fileConfig: Config, filePath: string, stateDirArg: string | undefined): Promise<{ config: Config; from: string }> {
  const dir = stateDirArg ? resolve(stateDirArg) : resolve(dirname(filePath), stateDirOf(fileConfig).dir);
  const history = await readStateDocument(dir, CONFIG_DOCUMENT, (v) => VersionHistory.parse(v, 1000)).catch(() => undefined);
  const head = history?.head;
  const decision = chooseStartupConfig(fileVersionOf(fileConfig), head);
  if (decision.use === 'persisted' && head) return { config: withVersion(head.config, head.version), from: `state version ${head.version}` };
  return { config: fileConfig, from: 'the config file' };
}
