import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { start, type Running } from './proc.ts';
import { pin } from './tools.ts';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Runs the built gateway (`node dist/cli.js run`) pinned to a core, with the given config object. */
export function startEdgeplane(config: unknown, core: number | number[], extraArgs: string[] = [], readyTimeoutMs = 20_000): Promise<Running & { ready: Record<string, unknown> }> {
  return startBuiltGateway(config, { core, cliArgs: extraArgs, readyTimeoutMs });
}

export interface BuiltGatewayOptions {
  core: number | number[];
  /** Arguments after `run --config F --ready-file R`. */
  cliArgs?: string[];
  /** Node flags before the script, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Another checkout's root (its dist/cli.js runs), for before/after runs; default this repo. */
  checkout?: string;
  readyTimeoutMs?: number;
}

/** Like startEdgeplane, for the profiling tools: node flags, another checkout's build. */
export async function startBuiltGateway(config: unknown, options: BuiltGatewayOptions): Promise<Running & { ready: Record<string, unknown> }> {
  const cli = join(options.checkout ?? repoRoot, 'dist/cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} missing: run \`npm run build\` first (npm run bench does)`);
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-bench-gw-'));
  const file = join(dir, 'edgeplane.yaml');
  const readyFile = join(dir, 'ready.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const p = start([...pin(options.core), process.execPath, ...(options.nodeArgs ?? []), cli, 'run', '--config', file, '--ready-file', readyFile, ...(options.cliArgs ?? [])], {
    env: { EDGEPLANE_LOG_LEVEL: 'warn' },
    cwd: repoRoot,
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  while (!existsSync(readyFile)) {
    if (p.proc.exitCode !== null) throw new Error(`edgeplane exited:\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`edgeplane not ready:\n${p.output()}`);
    await delay(50);
  }
  return { ...p, ready: JSON.parse(readFileSync(readyFile, 'utf8')) };
}

/** The port of the listener named `name` in a gateway's ready file. */
export function listenerPort(ready: Record<string, unknown>, name: string): number {
  const l = (ready.listeners as { name: string; port: number }[]).find((x) => x.name === name);
  if (!l) throw new Error(`no listener named ${name} in the ready file`);
  return l.port;
}
