import type { Config } from '../config/schema/index.ts';
import type { Issue as AdminIssue } from '../control/errors.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import { ReleaseRejectedError } from './errors.ts';
import type { GateThresholds, ReleaseSpec, Strategy } from './model.ts';
import { DEFAULT_CANARY_STEPS, planSteps, targetShare, windowFor } from './strategy.ts';
import { resolveActiveCheck } from '../health/options.ts';

/**
 * Reads a start request (POST /v1/releases) once, against the config in force:
 * every default applied, every problem reported at once with its path, so the
 * controller never looks at strings or undefined again.
 */

export const DEFAULTS = {
  strategy: 'canary' as Strategy,
  stepDuration: '1m',
  observe: '5m', // blue-green
  interval: '10s',
  readinessTimeout: '5m',
  maxErrorRate: 1,
  maxP99Latency: '500ms',
  maxEjections: 0,
  minRequests: 20,
  onRestart: 'resume' as const,
};

/** Below this the gates would be evaluated in a hot loop. */
const MIN_INTERVAL_MS = 100;
const MAX_DURATION_MS = 7 * 24 * 3_600_000;
const KEYS = ['route', 'to', 'strategy', 'steps', 'stepDuration', 'observe', 'interval', 'readinessTimeout', 'gates', 'webhook', 'onRestart'];
const GATE_KEYS = ['maxErrorRate', 'maxP99Latency', 'maxEjections', 'minRequests'];

export interface ParsedStart {
  spec: ReleaseSpec;
  originalSplit: { cluster: string; weight: number }[];
  plan: number[];
  skippedSteps: number[];
}

export function parseStartRequest(body: unknown, config: Config): ParsedStart {
  const issues: AdminIssue[] = [];
  const bad = (path: string, message: string) => void issues.push({ path, message });
  if (!isObject(body)) throw new ReleaseRejectedError([{ path: '', message: 'the body must be a JSON object with "route" and "to"' }]);
  for (const k of Object.keys(body)) if (!KEYS.includes(k)) bad(k, `unknown key "${k}"`);

  const route = typeof body.route === 'string' && body.route ? config.routes.find((r) => r.name === body.route) : undefined;
  if (typeof body.route !== 'string' || !body.route) bad('route', 'required: the name of the route to release');
  else if (!route) bad('route', `no route named "${body.route}"`);

  const target = typeof body.to === 'string' ? body.to : '';
  if (!target) bad('to', 'required: the cluster to release to');
  else if (!config.clusters.some((c) => c.name === target)) bad('to', `no cluster named "${target}"`);
  else if (route && !route.split.some((e) => e.cluster === target)) {
    bad('to', `cluster "${target}" is not in the split of route "${route.name}" (add it with weight 0 first, so testers can reach it with the override header)`);
  } else if (route && route.split.every((e) => e.cluster === target || e.weight === 0)) {
    bad('to', `cluster "${target}" already takes all of route "${route.name}"'s traffic: nothing to release`);
  }

  const strategy = body.strategy ?? DEFAULTS.strategy;
  if (strategy !== 'blue-green' && strategy !== 'canary') bad('strategy', 'must be "blue-green" or "canary"');
  const canary = strategy === 'canary';

  let steps: number[] = canary ? [...DEFAULT_CANARY_STEPS] : [100];
  if (body.steps !== undefined) {
    if (!canary) bad('steps', 'steps apply to the canary strategy only (blue-green shifts everything at once)');
    else if (!Array.isArray(body.steps) || body.steps.length === 0 || body.steps.length > 20) bad('steps', 'must be a list of 1 to 20 percentages');
    else if (!body.steps.every((p) => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 100)) bad('steps', 'every step must be a whole percentage from 1 to 100');
    else if (!body.steps.every((p, i, a) => i === 0 || (p as number) > (a[i - 1] as number))) bad('steps', `steps must strictly increase: ${body.steps.join(', ')}`);
    else steps = body.steps as number[];
  }

  if (body.stepDuration !== undefined && !canary) bad('stepDuration', 'stepDuration applies to the canary strategy only (blue-green uses observe)');
  const stepDurationMs = duration(body.stepDuration, DEFAULTS.stepDuration, 'stepDuration', bad);
  const observeMs = body.observe === undefined && canary ? null : duration(body.observe, DEFAULTS.observe, 'observe', bad);
  const intervalMs = duration(body.interval, DEFAULTS.interval, 'interval', bad);
  if (intervalMs < MIN_INTERVAL_MS) bad('interval', `must be at least ${MIN_INTERVAL_MS}ms`);
  const readinessTimeoutMs = duration(body.readinessTimeout, DEFAULTS.readinessTimeout, 'readinessTimeout', bad);

  const gates = parseGates(body.gates, bad);

  let webhook: string | null = null;
  if (body.webhook !== undefined) {
    const url = typeof body.webhook === 'string' ? safeUrl(body.webhook) : null;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) bad('webhook', 'must be an http:// or https:// URL');
    else webhook = url.toString();
  }

  const onRestart = body.onRestart ?? DEFAULTS.onRestart;
  if (onRestart !== 'resume' && onRestart !== 'pause') bad('onRestart', 'must be "resume" (carry on with the window restarted) or "pause"');

  const spec: ReleaseSpec = {
    route: route?.name ?? String(body.route),
    target,
    strategy: strategy as Strategy,
    steps,
    stepDurationMs,
    observeMs,
    intervalMs,
    readinessTimeoutMs,
    gates,
    webhook,
    onRestart: onRestart as ReleaseSpec['onRestart'],
  };

  let plan: number[] = [];
  let skippedSteps: number[] = [];
  if (route && issues.length === 0) {
    const share = targetShare(route.split, target);
    ({ plan, skipped: skippedSteps } = planSteps(steps, share));
    if (plan.length === 0) bad('steps', `every step is at or below "${target}"'s current share of route "${route.name}" (${round(share)}%)`);
    const healthInterval = healthCheckInterval(config, target);
    plan.forEach((_, i) => {
      const w = windowFor(spec, i, plan.length);
      const where = spec.strategy === 'blue-green' || (i === plan.length - 1 && spec.observeMs !== null) ? 'observe' : 'stepDuration';
      if (w < intervalMs) bad(where, `the window (${formatDuration(w)}) is shorter than the check interval (${formatDuration(intervalMs)}): no gate would ever be evaluated in it`);
      else if (healthInterval !== null && w < healthInterval) {
        bad(where, `the window (${formatDuration(w)}) is shorter than the health check interval of cluster "${target}" (${formatDuration(healthInterval)})`);
      }
    });
  }
  if (issues.length) throw new ReleaseRejectedError(dedupe(issues));
  return { spec, originalSplit: route!.split.map((e) => ({ cluster: e.cluster, weight: e.weight })), plan, skippedSteps };
}

function parseGates(value: unknown, bad: (p: string, m: string) => void): GateThresholds {
  const g: Record<string, unknown> = isObject(value) ? value : {};
  if (value !== undefined && !isObject(value)) bad('gates', 'must be an object');
  for (const k of Object.keys(g)) if (!GATE_KEYS.includes(k)) bad(`gates.${k}`, `unknown gate "${k}" (known: ${GATE_KEYS.join(', ')})`);
  const maxErrorRate = g.maxErrorRate ?? DEFAULTS.maxErrorRate;
  if (typeof maxErrorRate !== 'number' || !(maxErrorRate >= 0 && maxErrorRate <= 100)) bad('gates.maxErrorRate', 'must be a percentage from 0 to 100');
  const maxEjections = g.maxEjections ?? DEFAULTS.maxEjections;
  if (!Number.isInteger(maxEjections) || (maxEjections as number) < 0) bad('gates.maxEjections', 'must be a whole number, 0 or more');
  const minRequests = g.minRequests ?? DEFAULTS.minRequests;
  if (!Number.isInteger(minRequests) || (minRequests as number) < 1) bad('gates.minRequests', 'must be a whole number, at least 1: a release is never promoted on zero traffic');
  const maxP99Ms = duration(g.maxP99Latency, DEFAULTS.maxP99Latency, 'gates.maxP99Latency', bad, 0);
  return { maxErrorRate: maxErrorRate as number, maxP99Ms, maxEjections: maxEjections as number, minRequests: minRequests as number };
}

function duration(value: unknown, fallback: string, path: string, bad: (p: string, m: string) => void, min = 1): number {
  const text = value ?? fallback;
  if (typeof text !== 'string') {
    bad(path, 'must be a duration string such as 250ms, 30s, 3m');
    return parseDuration(fallback);
  }
  try {
    const ms = parseDuration(text);
    if (ms < min || ms > MAX_DURATION_MS) bad(path, `must be between ${formatDuration(min)} and 7d`);
    return ms;
  } catch (err) {
    bad(path, (err as Error).message);
    return parseDuration(fallback);
  }
}

function healthCheckInterval(config: Config, cluster: string): number | null {
  const c = config.clusters.find((x) => x.name === cluster);
  if (!c?.healthCheck) return null;
  try {
    return resolveActiveCheck(c.healthCheck, c.protocol).intervalMs;
  } catch {
    return null;
  }
}

function safeUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function dedupe(issues: AdminIssue[]): AdminIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(`${i.path}\0${i.message}`) && !!seen.add(`${i.path}\0${i.message}`));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
