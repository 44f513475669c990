import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeployView } from '../deploy/view.ts';
import { AdminClient } from './admin-client.ts';
import { deployFinished, formatDeployFrame } from './deploy-progress.ts';

export const DEPLOY_USAGE = `usage: edgeplane release deploy UNIT --image IMAGE [options]
      start the unit's idle color from IMAGE, wait for it to be ready, move the route to it
      (release gates, window, automatic rollback), then remove the old color
      --strategy blue-green|canary                default blue-green
      --window DURATION                           blue-green: observation at 100%; canary: each step's hold
      --steps 10,50,100                           canary target shares
      --interval DURATION                         gate evaluation interval
      --readiness-timeout DURATION                for the new containers (default: the unit's, 2m)
      --max-error-rate PERCENT  --max-p99 DURATION  --min-requests N
      --no-wait                                   print the deploy as started and return
  (--admin, --token, --author, --json as for the other release commands)
Exit status: 0 the deploy succeeded, 1 it failed, rolled back or was refused, 2 usage error.`;

type Out = NodeJS.WritableStream & { isTTY?: boolean };

/** `edgeplane release deploy`: starts a deploy and follows it with a progress display until it ends. */
export async function deployCommand(args: string[], out: Out, err: Out, env: NodeJS.ProcessEnv, pollMs = 500): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        image: { type: 'string' },
        strategy: { type: 'string' },
        window: { type: 'string' },
        steps: { type: 'string' },
        interval: { type: 'string' },
        'readiness-timeout': { type: 'string' },
        'max-error-rate': { type: 'string' },
        'max-p99': { type: 'string' },
        'min-requests': { type: 'string' },
        'no-wait': { type: 'boolean' },
        admin: { type: 'string' },
        token: { type: 'string' },
        author: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err.write(`edgeplane release deploy: ${(e as Error).message}\n\n${DEPLOY_USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    out.write(`${DEPLOY_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1 || !v.image) {
    err.write(`edgeplane release deploy: ${positionals.length !== 1 ? 'name exactly one unit' : '--image is required'}\n\n${DEPLOY_USAGE}\n`);
    return 2;
  }
  const body: Record<string, unknown> = { kind: 'deploy', unit: positionals[0], image: v.image };
  if (v.strategy) body.strategy = v.strategy;
  if (v.window) body.window = v.window;
  if (v.interval) body.interval = v.interval;
  if (v['readiness-timeout']) body.readinessTimeout = v['readiness-timeout'];
  if (v.steps) body.steps = v.steps.split(',').map((s) => (Number.isFinite(Number(s)) ? Number(s) : s));
  const gates: Record<string, unknown> = {};
  if (v['max-error-rate'] !== undefined) gates.maxErrorRate = Number(v['max-error-rate']);
  if (v['max-p99'] !== undefined) gates.maxP99Latency = v['max-p99'];
  if (v['min-requests'] !== undefined) gates.minRequests = Number(v['min-requests']);
  if (Object.keys(gates).length) body.gates = gates;

  const client = new AdminClient(v.admin ?? env.EDGEPLANE_ADMIN_URL ?? 'http://127.0.0.1:9901', v.token ?? env.EDGEPLANE_ADMIN_TOKEN, v.author);
  let res: { status: number; body: any };
  try {
    res = await client.call('POST', '/v1/releases', body);
  } catch (e) {
    err.write(`edgeplane release deploy: cannot reach the admin API at ${client.base}: ${(e as Error).message}\n`);
    return 1;
  }
  if (res.status >= 400) {
    const errors: { path: string; message: string }[] = Array.isArray(res.body?.errors) ? res.body.errors : [{ path: '', message: String(res.body) }];
    err.write(`edgeplane release deploy: refused (${res.status})\n${errors.map((e) => `  ${e.path ? `${e.path}: ` : ''}${e.message}`).join('\n')}\n`);
    return 1;
  }
  let view = res.body as DeployView;
  if (v['no-wait']) {
    out.write(v.json ? `${JSON.stringify(view, null, 2)}\n` : `${formatDeployFrame(view, Date.now()).join('\n')}\n`);
    return 0;
  }
  // A terminal redraws one frame in place; a pipe or log gets a line per change of step.
  const tty = out.isTTY === true && !v.json;
  let drawn = 0;
  let lastStep = '';
  for (;;) {
    const frame = formatDeployFrame(view, Date.now());
    if (tty) {
      out.write(`${drawn ? `\x1b[${drawn}A\x1b[J` : ''}${frame.join('\n')}\n`);
      drawn = frame.length;
    } else if (!v.json && frame[1] !== lastStep) {
      out.write(`${new Date().toISOString()} ${frame[1]!.trim()}\n`);
      lastStep = frame[1]!;
    }
    if (deployFinished(view)) break;
    await delay(pollMs);
    try {
      const r = await client.call('GET', `/v1/releases/${encodeURIComponent(view.id)}`);
      if (r.status === 200) view = r.body as DeployView;
    } catch {
      // The gateway may be restarting: keep asking; the deploy resumes from its stored state.
    }
  }
  if (v.json) out.write(`${JSON.stringify(view, null, 2)}\n`);
  else if (!tty) out.write(`${formatDeployFrame(view, Date.now()).join('\n')}\n`);
  return view.phase === 'succeeded' ? 0 : 1;
}
