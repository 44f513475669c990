import { dirname, resolve } from 'node:path';
import { loadConfigDocument, issuesWithLines } from '../config/load.ts';
import { preflight, probeAdminAddress, type PreflightIssue } from '../config/preflight.ts';
import type { Config } from '../config/schema/index.ts';
import { ConfigError, type ConfigIssue } from '../util/errors.ts';

export interface CheckedConfig {
  file: string;
  config: Config | null;
  /** `FILE: path (line N): message`, one per problem. */
  errors: string[];
  warnings: string[];
}

/**
 * The check `validate` prints and `run` (and `demo`) obey before anything
 * binds: schema and cross-references, then the preflight of files,
 * certificates and the state directory; with `probePorts`, also whether the
 * admin address is free. Every line is `FILE: path (line N): message`.
 */
export async function checkConfigFile(path: string, options: { probePorts?: boolean } = {}): Promise<CheckedConfig> {
  const file = resolve(path);
  let loaded;
  try {
    loaded = loadConfigDocument(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { file, config: null, errors: err.issues.map((i) => formatLine(file, i)), warnings: [] };
  }
  const { config, source } = loaded;
  const found: PreflightIssue[] = preflight(config, { baseDir: dirname(file) });
  if (options.probePorts && !found.some((i) => i.severity === 'error')) {
    const busy = await probeAdminAddress(config);
    if (busy) found.push(busy);
  }
  const lines = (severity: PreflightIssue['severity']) => issuesWithLines(found.filter((i) => i.severity === severity), source);
  return {
    file,
    config,
    errors: lines('error').map((i) => formatLine(file, i)),
    warnings: lines('warning').map((i) => formatLine(file, i, 'warning: ')),
  };
}

export function formatLine(file: string, issue: ConfigIssue, prefix = ''): string {
  return `${file}: ${issue.path || '(top level)'}${issue.line ? ` (line ${issue.line})` : ''}: ${prefix}${issue.message}`;
}
