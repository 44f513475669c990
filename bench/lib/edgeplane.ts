import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { start, type Running } from './proc.ts';
import { pin } from './tools.ts';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Runs the built gateway (`node dist/cli.js run`) pinned to a core, with the given config object. */
export async function startEdgeplane(config: unknown, core: number | number[], extraArgs: string[] = [], readyTimeoutMs = 20_000): Promise<Running & { ready: Record<string, unknown> }> {
  const cli = join(repoRoot, 'dist/cli.js');
  if (!existsSync(cli)) throw new Error('dist/cli.js missing: run `npm run build` first (npm run bench does)');
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-bench-gw-'));
  const file = join(dir, 'edgeplane.yaml');
  const readyFile = join(dir, 'ready.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const p = start([...pin(core), process.execPath, cli, 'run', '--config', file, '--ready-file', readyFile, ...extraArgs], {
    env: { EDGEPLANE_LOG_LEVEL: 'warn' },
    cwd: repoRoot,
  });
  const deadline = Date.now() + readyTimeoutMs;
  while (!existsSync(readyFile)) {
    if (p.proc.exitCode !== null) throw new Error(`edgeplane exited:\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`edgeplane not ready:\n${p.output()}`);
    await delay(50);
  }
  return { ...p, ready: JSON.parse(readFileSync(readyFile, 'utf8')) };
}
