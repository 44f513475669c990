import { stringify } from 'yaml';
import type { Config } from '../config/schema/index.ts';
import { parseConfig } from '../config/load.ts';
import { ConfigSource } from '../config/source.ts';
import type { VersionHistory } from './history.ts';
import { chooseStartupConfig, nextVersion } from './startup-rule.ts';
import { redactSecrets, restoreSecrets, REDACTED } from './secrets.ts';
import { sameConfig, withVersion } from './config-equal.ts';
import { fileVersionOf } from './options.ts';

export interface ExportInput {
  filePath: string;
  fileText: string;
  env: NodeJS.ProcessEnv;
  /** The persisted history, undefined when there is none. */
  history: VersionHistory | undefined;
}

export interface ExportResult {
  /** Which side the startup rule picks today. */
  from: 'persisted' | 'file';
  reason: string;
  version: number;
  config: Config;
  /** Things the operator must know before committing (secrets that could not be written as ${ENV}). */
  warnings: string[];
  yaml: string;
}

/**
 * `edgeplane config export`: the config a gateway started now would run
 * (same rule as at start), as YAML to commit back to Git. Its `version:` is
 * the current version, so once committed the file wins again. Secrets are
 * never printed: they are written as the `${ENV}` reference the file uses for
 * them, or "[redacted]" with a warning. Other values the file takes from the
 * environment keep their `${ENV}` reference while unchanged.
 */
export function exportConfig(input: ExportInput): ExportResult {
  const fileConfig = parseConfig(input.fileText, { env: input.env, name: input.filePath });
  const raw = new ConfigSource(input.fileText, input.filePath).toJS();
  const head = input.history?.head;
  const fileVersion = fileVersionOf(fileConfig);
  const decision = chooseStartupConfig(fileVersion, head);

  let effective: Config;
  let version: number;
  if (decision.use === 'persisted' && head) {
    effective = structuredClone(head.config);
    // The admin section always comes from the file.
    if (fileConfig.admin === undefined) delete (effective as Partial<Config>).admin;
    else effective.admin = structuredClone(fileConfig.admin);
    version = head.version;
  } else {
    effective = fileConfig;
    version = head && fileVersion <= head.version && sameConfig(fileConfig, head.config) ? head.version : nextVersion(head?.version ?? 0, fileVersion);
  }
  const out = withVersion(redactSecrets(effective), version);
  keepEnvReferences(out, fileConfig, raw);

  const warnings: string[] = [];
  // Only `${ENV}` references may stand in for a secret: a literal secret in the file stays out of the export.
  for (const issue of restoreSecrets(out, [onlyReferences(raw) as Config])) {
    warnings.push(`${issue.path}: printed as "${REDACTED}": give it as \${ENV} in the config file before committing`);
  }

  const header = [
    `# edgeplane effective config, version ${version}, exported ${decision.use === 'persisted' ? `from the persisted state (${head!.source} by ${head!.author} at ${head!.at}, "${head!.change}")` : `from ${input.filePath}`}.`,
    `# ${decision.reason}.`,
    '# Commit this file to make it the source of truth again (its version is not older than the persisted state).',
  ];
  return { from: decision.use, reason: decision.reason, version, config: out, warnings, yaml: `${header.join('\n')}\n${stringify(out, { lineWidth: 0 })}` };
}

/** Where the raw file has `${...}` and the value is unchanged, print the reference instead of the value. */
function keepEnvReferences(out: unknown, interpolated: unknown, raw: unknown): void {
  if (Array.isArray(out) && Array.isArray(interpolated) && Array.isArray(raw)) {
    out.forEach((_v, i) => visit(out, i, interpolated[i], raw[i]));
  } else if (isObject(out) && isObject(interpolated) && isObject(raw)) {
    for (const k of Object.keys(out)) visit(out, k, interpolated[k], raw[k]);
  }
}

function visit(container: Record<string | number, unknown> | unknown[], key: string | number, interpolated: unknown, raw: unknown): void {
  const value = (container as Record<string | number, unknown>)[key];
  if (typeof raw === 'string' && raw.includes('${') && typeof value === 'string' && value === interpolated) {
    (container as Record<string | number, unknown>)[key] = raw;
  } else {
    keepEnvReferences(value, interpolated, raw);
  }
}

/** The raw file with every string that is not a `${...}` reference blanked: only references may stand in for secrets. */
function onlyReferences(v: unknown): unknown {
  if (typeof v === 'string') return v.includes('${') ? v : REDACTED;
  if (Array.isArray(v)) return v.map(onlyReferences);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, onlyReferences(x)]));
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
