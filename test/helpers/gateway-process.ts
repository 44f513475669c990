import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.ts';
import { tempDir } from './temp-dir.ts';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const cliPath = join(repoRoot, 'src/cli.ts');

export interface ReadyInfo {
  pid: number;
  listeners: { name: string; protocol: string; address: string; port: number }[];
  admin: { address: string; port: number } | null;
  [extra: string]: unknown;
}

export interface GatewayProcess {
  proc: ChildProcess;
  dir: string;
  configPath: string;
  ready: ReadyInfo;
  /** host:port of the named listener. */
  url(listener: string, scheme?: string): string;
  adminUrl(): string;
  output(): string;
  /** Sends a signal and waits for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  writeConfig(config: unknown): void;
}

/**
 * With EDGEPLANE_WORKERS (the suite run with workers), a gateway is three or
 * more processes each loading the sources through tsx: on a loaded machine
 * that takes well over a minute, so the default deadline is longer.
 */
function defaultReadyTimeoutMs(): number {
  const workers = Number(process.env.EDGEPLANE_WORKERS ?? 1);
  return workers > 1 ? 180_000 : 60_000;
}

/**
 * Runs `edgeplane run` in a child process (through tsx, so tests exercise the
 * sources) with a config written to a temp dir, and waits for its ready file.
 * Use port 0 in listener addresses: the ready file says which port the OS chose.
 */
export async function startGateway(config: unknown, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; args?: string[]; dir?: string; /** Runs the gateway through this command, e.g. ['ip', 'netns', 'exec', 'ns1'] (it must exec, keeping the pid). */ prefix?: string[] } = {}): Promise<GatewayProcess> {
  const dir = options.dir ?? tempDir('edgeplane-test-');
  const configPath = join(dir, 'edgeplane.yaml');
  const readyFile = join(dir, 'ready.json');
  if (existsSync(readyFile)) rmSync(readyFile);
  writeFileSync(configPath, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  const argv = [process.execPath, '--import', 'tsx', cliPath, 'run', '--config', configPath, '--ready-file', readyFile, ...(options.args ?? [])];
  const command = [...(options.prefix ?? []), ...argv];
  const proc = spawn(command[0]!, command.slice(1), {
    cwd: repoRoot,
    env: { ...process.env, EDGEPLANE_LOG_LEVEL: process.env.EDGEPLANE_TEST_LOG_LEVEL ?? 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  let exited: number | null | undefined;
  const exitPromise = new Promise<number | null>((res) => proc.once('exit', (code) => res((exited = code))));
  try {
    await waitFor(() => {
      if (exited !== undefined) throw new Error(`gateway exited with ${exited} before it was ready:\n${out}`);
      return existsSync(readyFile);
    }, { timeoutMs: options.timeoutMs ?? defaultReadyTimeoutMs(), what: 'gateway ready file' });
  } catch (err) {
    // A child left running would keep the test file alive forever.
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- gateway output ---\n${out}`);
  }
  const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as ReadyInfo;
  return {
    proc,
    dir,
    configPath,
    ready,
    url(listener, scheme) {
      const l = ready.listeners.find((x) => x.name === listener);
      if (!l) throw new Error(`no listener ${listener}`);
      return `${scheme ?? l.protocol}://127.0.0.1:${l.port}`;
    },
    adminUrl() {
      if (!ready.admin) throw new Error('no admin listener');
      return `http://127.0.0.1:${ready.admin.port}`;
    },
    output: () => out,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (exited !== undefined) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exitPromise;
      clearTimeout(timer);
      return code;
    },
    writeConfig(next) {
      writeFileSync(configPath, typeof next === 'string' ? next : JSON.stringify(next, null, 2));
    },
  };
}
