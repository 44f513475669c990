import { parseArgs } from 'node:util';
import type { ReleaseView } from '../release/view.ts';
import { deployCommand } from './deploy.ts';
import { formatDeployFrame } from './deploy-progress.ts';
import { AdminClient } from './admin-client.ts';

const USAGE = `usage: edgeplane release <command> [options]     releases over the admin API

  deploy UNIT --image IMAGE [options]             start a unit's new version in containers and release it (see release deploy --help)
  start --route ROUTE --to CLUSTER [options]      start a release (POST /v1/releases)
      --strategy blue-green|canary                default canary
      --observe DURATION                          blue-green window (default 5m); canary: hold of the last step
      --steps 5,25,50,100                         canary target shares in percent
      --step-duration DURATION                    canary hold of each step (default 1m)
      --interval DURATION                         gate evaluation interval (default 10s)
      --readiness-timeout DURATION                wait for the target's readiness (default 5m)
      --max-error-rate PERCENT                    default 1
      --max-p99 DURATION                          default 500ms
      --max-ejections N                           default 0
      --min-requests N                            requests before any verdict (default 20)
      --webhook URL                               receives every transition as JSON
      --on-restart resume|pause                   after a gateway restart (default resume)
  status [ID]                                     one release in detail, or the list
  promote ID [--full]                             skip the rest of this window (--full: every remaining step)
  abort ID                                        roll back to the previous split now
  pause ID                                        hold the weights where they are
  resume ID                                       carry on with a fresh window

  --admin URL      admin API (default $EDGEPLANE_ADMIN_URL, else http://127.0.0.1:9901)
  --token TOKEN    bearer token (default $EDGEPLANE_ADMIN_TOKEN)
  --author NAME    recorded in the audit log and the release (X-Edgeplane-Author)
  --json           print the API's JSON answer

Exit status: 0 done, 1 refused by the gateway (the reasons are printed), 2 usage error.`;

type Out = NodeJS.WritableStream;

/** `edgeplane release ...`: a thin client of /v1/releases. */
export async function releaseCommand(args: string[], out: Out = process.stdout, err: Out = process.stderr, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (args[0] === 'deploy') return deployCommand(args.slice(1), out, err, env);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        route: { type: 'string' },
        to: { type: 'string' },
        strategy: { type: 'string' },
        observe: { type: 'string' },
        steps: { type: 'string' },
        'step-duration': { type: 'string' },
        interval: { type: 'string' },
        'readiness-timeout': { type: 'string' },
        'max-error-rate': { type: 'string' },
        'max-p99': { type: 'string' },
        'max-ejections': { type: 'string' },
        'min-requests': { type: 'string' },
        webhook: { type: 'string' },
        'on-restart': { type: 'string' },
        full: { type: 'boolean' },
        admin: { type: 'string' },
        token: { type: 'string' },
        author: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err.write(`edgeplane release: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const [command, id, ...extra] = positionals;
  // --help, or the group alone (like `docker network`): the usage, exit 0.
  if (v.help || !command) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const needsId = ['promote', 'abort', 'pause', 'resume'].includes(command);
  const problem = !needsId && command !== 'start' && command !== 'status'
    ? `unknown command "${command}"`
    : needsId && !id
      ? `${command} needs a release id`
      : extra.length > 0 || (command === 'start' && id)
        ? `unexpected "${(command === 'start' ? [id, ...extra] : extra).join(' ')}"`
        : null;
  if (problem) {
    err.write(`edgeplane release: ${problem}\n\n${USAGE}\n`);
    return 2;
  }

  const client = new AdminClient(v.admin ?? env.EDGEPLANE_ADMIN_URL ?? 'http://127.0.0.1:9901', v.token ?? env.EDGEPLANE_ADMIN_TOKEN, v.author);
  let res: { status: number; body: any };
  try {
    if (command === 'start') {
      if (!v.route || !v.to) {
        err.write(`edgeplane release start: --route and --to are required\n`);
        return 2;
      }
      res = await client.call('POST', '/v1/releases', startBody(v));
    } else if (command === 'status') {
      res = await client.call('GET', id ? `/v1/releases/${encodeURIComponent(id)}` : '/v1/releases');
    } else {
      res = await client.call('POST', `/v1/releases/${encodeURIComponent(id!)}/${command}`, command === 'promote' && v.full ? { full: true } : undefined);
    }
  } catch (e) {
    err.write(`edgeplane release: cannot reach the admin API at ${client.base}: ${(e as Error).message}\n`);
    return 1;
  }
  if (res.status >= 400) {
    const errors: { path: string; message: string }[] = Array.isArray(res.body?.errors) ? res.body.errors : [{ path: '', message: String(res.body) }];
    err.write(`edgeplane release ${command}: refused (${res.status})\n${errors.map((e) => `  ${e.path ? `${e.path}: ` : ''}${e.message}`).join('\n')}\n`);
    return 1;
  }
  if (v.json) out.write(`${JSON.stringify(res.body, null, 2)}\n`);
  else if (command === 'status' && !id) out.write(formatList(res.body.releases as ReleaseView[]));
  else if (res.body?.kind === 'deploy') out.write(`${formatDeployFrame(res.body, Date.now()).join('\n')}\n`);
  else out.write(formatRelease(res.body as ReleaseView));
  return 0;
}

function startBody(v: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const body: Record<string, unknown> = { route: v.route, to: v.to };
  const put = (key: string, value: unknown) => value !== undefined && (body[key] = value);
  put('strategy', v.strategy);
  put('observe', v.observe);
  put('stepDuration', v['step-duration']);
  put('interval', v.interval);
  put('readinessTimeout', v['readiness-timeout']);
  put('webhook', v.webhook);
  put('onRestart', v['on-restart']);
  // Numbers go as numbers when they are numbers; anything else goes as typed, for the gateway to explain.
  if (typeof v.steps === 'string') body.steps = v.steps.split(',').map((s) => numberOr(s.trim()));
  const gates: Record<string, unknown> = {};
  if (v['max-error-rate'] !== undefined) gates.maxErrorRate = numberOr(v['max-error-rate'] as string);
  if (v['max-p99'] !== undefined) gates.maxP99Latency = v['max-p99'];
  if (v['max-ejections'] !== undefined) gates.maxEjections = numberOr(v['max-ejections'] as string);
  if (v['min-requests'] !== undefined) gates.minRequests = numberOr(v['min-requests'] as string);
  if (Object.keys(gates).length) body.gates = gates;
  return body;
}

function numberOr(s: string): number | string {
  return s !== '' && Number.isFinite(Number(s)) ? Number(s) : s;
}

/** Weights are relative; the share of the total is what a release's steps (percentages) speak of. */
export const split = (s: { cluster: string; weight: number }[] | null) => (s ? s.map((e) => `${e.cluster} ${e.weight} (${share(e.weight, s)})`).join(' / ') : '(route gone)');
function share(weight: number, s: { weight: number }[]): string {
  const total = s.reduce((sum, e) => sum + e.weight, 0);
  return total > 0 ? `${Number(((weight / total) * 100).toFixed(1))}%` : '0%';
}

export function formatRelease(r: ReleaseView): string {
  const step = r.step.index >= 0 ? ` (step ${r.step.index + 1}/${r.step.count}: ${r.target} ${r.step.percent}%)` : '';
  const lines = [
    `${r.id}  route ${r.route} -> ${r.target}  ${r.strategy}  ${r.phase}${step}`,
    `  reason:   ${r.reason}`,
    `  weights:  ${split(r.weights)}   (before: ${split(r.previousSplit)})`,
    `  plan:     ${r.plan.map((p) => `${p}%`).join(', ')}${r.skippedSteps.length ? `   (skipped ${r.skippedSteps.join(', ')})` : ''}`,
    `  gates:    error rate <= ${r.gates.maxErrorRate}%, p99 <= ${r.gates.maxP99Latency}, ejections <= ${r.gates.maxEjections}, at least ${r.gates.minRequests} requests`,
  ];
  if (r.window) lines.push(`  window:   ${r.window.duration} from ${r.window.startedAt} to ${r.window.endsAt}`);
  const g = r.readings;
  if (g) {
    lines.push(
      `  readings: ${g.requests} requests, ${g.errorRate ?? '-'}% errors, p99 ${g.p99Ms ?? '-'}ms, ${g.ejections} ejections, ${g.healthy}/${g.total} healthy -> ${g.verdict}${g.reason ? ` (${g.reason})` : ''}`,
    );
  }
  lines.push('  history:');
  for (const h of r.history) lines.push(`    ${h.at}  ${h.phase.padEnd(12)} ${h.version !== undefined ? `v${h.version} ` : ''}${h.reason}`);
  return lines.join('\n') + '\n';
}

export function formatList(list: ReleaseView[]): string {
  if (list.length === 0) return 'no releases\n';
  const rows = list.map((r) => [r.id, r.route, r.target, r.strategy, r.phase, r.step.index >= 0 ? `${r.step.index + 1}/${r.step.count} (${r.step.percent}%)` : '-', r.updatedAt]);
  const head = ['ID', 'ROUTE', 'TARGET', 'STRATEGY', 'PHASE', 'STEP', 'UPDATED'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
