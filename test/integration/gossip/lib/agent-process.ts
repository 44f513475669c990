import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { repoRoot } from '../../../helpers/gateway-process.ts';
import { waitFor } from '../../../helpers/wait.ts';

export const standalonePath = join(repoRoot, 'src/gossip/standalone.ts');

export interface AgentEvent {
  event: string;
  [k: string]: unknown;
}

export interface MemberInfo {
  name: string;
  addr: string;
  region: string;
  state: string;
  incarnation: number;
}

/** One gossip agent in a child process (src/gossip/standalone.ts), driven over stdin/stdout. */
export class AgentProcess {
  readonly proc: ChildProcess;
  readonly events: AgentEvent[] = [];
  readonly nodeId: string;
  address = '';
  #stderr = '';
  #exited: number | null | undefined;
  readonly exit: Promise<number | null>;

  /** @param prefix runs the agent through this command, e.g. ['ip', 'netns', 'exec', 'ns1'] */
  constructor(opts: Record<string, unknown> & { nodeId: string }, prefix: string[] = []) {
    this.nodeId = opts.nodeId;
    const argv = [...prefix, process.execPath, '--import', 'tsx', standalonePath, JSON.stringify(opts)];
    this.proc = spawn(argv[0]!, argv.slice(1), {
      cwd: repoRoot,
      env: { ...process.env, EDGEPLANE_LOG_LEVEL: process.env.EDGEPLANE_TEST_LOG_LEVEL ?? 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as AgentEvent;
        this.events.push(e);
        if (e.event === 'ready') this.address = e.address as string;
      } catch {
        // not ours
      }
    });
    this.proc.stderr!.on('data', (d) => (this.#stderr += d));
    this.exit = new Promise((res) => this.proc.once('exit', (code) => res((this.#exited = code))));
  }

  get output(): string {
    return this.#stderr;
  }

  get exited(): boolean {
    return this.#exited !== undefined;
  }

  async ready(timeoutMs = 20_000): Promise<this> {
    await waitFor(
      () => {
        const fatal = this.events.find((e) => e.event === 'fatal');
        if (fatal || this.exited) throw new Error(`${this.nodeId} exited or failed to start: ${JSON.stringify(fatal)} ${this.#stderr}`);
        return this.address !== '';
      },
      { timeoutMs, what: `${this.nodeId} ready` },
    );
    return this;
  }

  send(cmd: unknown): void {
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
  }

  /** Asks for something and waits for the next event of that kind. */
  async ask(cmd: string, reply: string, timeoutMs = 10_000): Promise<AgentEvent> {
    const from = this.events.length;
    this.send({ cmd });
    return waitFor(() => this.events.slice(from).find((e) => e.event === reply), { timeoutMs, what: `${this.nodeId} ${reply}` });
  }

  async members(): Promise<MemberInfo[]> {
    return (await this.ask('members', 'members')).members as MemberInfo[];
  }

  async stats(): Promise<Record<string, number>> {
    return (await this.ask('stats', 'stats')).stats as Record<string, number>;
  }

  memberEvents(): { name: string; state: string; previous: string | null; incarnation: number }[] {
    return this.events.filter((e) => e.event === 'member') as never;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exited) this.proc.kill(sig);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGCONT');
    this.proc.kill('SIGKILL');
    await this.exit;
  }
}

export function stateOf(members: MemberInfo[], name: string): string | undefined {
  return members.find((m) => m.name === name)?.state;
}
