import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseConfig } from '../config/load.ts';
import { ConfigError, formatIssues } from '../util/errors.ts';
import { readStateDocument } from '../control/persistence.ts';
import { VersionHistory } from '../control/history.ts';
import { CONFIG_DOCUMENT } from '../control/file-store.ts';
import { exportConfig } from '../control/export.ts';
import { USAGES } from './usage.ts';
import { historyLimitOf, stateDirOf } from '../control/options.ts';

const USAGE = USAGES.config!;

/**
 * `edgeplane config export`: prints the effective config (what a gateway
 * started now would run: the file, or the persisted admin changes when they
 * are newer) as YAML with `version:` set, for committing back to Git. Reads
 * the state directory only; never changes it. Warnings go to stderr.
 */
export async function configCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  // The group alone asks which subcommands there are (like `docker network`).
  if (sub === undefined) {
    console.log(USAGE);
    return 0;
  }
  if (sub !== 'export') {
    console.error(`edgeplane config: unknown subcommand "${sub}"\n\n${USAGE}`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: 'string', short: 'c' }, 'state-dir': { type: 'string' }, output: { type: 'string', short: 'o' } },
  });
  if (!values.config) {
    console.error(`edgeplane config export: --config is required\n\n${USAGE}`);
    return 2;
  }
  const filePath = resolve(values.config);
  let fileText: string;
  try {
    fileText = readFileSync(filePath, 'utf8');
  } catch (err) {
    console.error(`edgeplane: cannot read ${filePath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return 1;
  }
  try {
    const fileConfig = parseConfig(fileText, { name: filePath });
    const stateDir = values['state-dir'] ? resolve(values['state-dir']) : resolve(dirname(filePath), stateDirOf(fileConfig).dir);
    const limit = historyLimitOf(fileConfig);
    const history = await readStateDocument(stateDir, CONFIG_DOCUMENT, (v) => VersionHistory.parse(v, Math.max(limit, 1000)));
    const result = exportConfig({ filePath, fileText, env: process.env, history });
    for (const w of result.warnings) console.error(`warning: ${w}`);
    console.error(`exported version ${result.version} (${result.from === 'persisted' ? 'persisted admin changes' : 'the config file'}: ${result.reason})`);
    if (values.output) {
      const tmp = `${values.output}.tmp`;
      writeFileSync(tmp, result.yaml);
      renameSync(tmp, values.output);
    } else {
      process.stdout.write(result.yaml);
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${filePath}: invalid config\n${formatIssues(err.issues)}`);
      return 1;
    }
    console.error(`edgeplane: ${(err as Error).message}`);
    return 1;
  }
}
