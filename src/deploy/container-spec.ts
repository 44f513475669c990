import type { UnitConfig } from '../config/schema/index.ts';
import { PORT_LABEL } from '../discovery/docker-address.ts';
import { parseDuration } from '../util/duration.ts';
import { COLOR_LABEL, RELEASE_LABEL, REPLICA_LABEL, UNIT_LABEL } from './labels.ts';
import { resolveContainerHealthCheck, resolveUnit } from './options.ts';

/** Nanoseconds, as the Engine API wants durations. */
const ns = (ms: number) => ms * 1_000_000;

/** The labels of `color`'s containers (the color's cluster selects a subset of them). */
export function colorLabels(unit: UnitConfig, color: string): Record<string, string> {
  return { ...(unit.template.labels ?? {}), [UNIT_LABEL]: unit.name, [COLOR_LABEL]: color };
}

/** The port replica `index` of `color` serves on: its host port with host networking, else the template's port. */
export function replicaPort(unit: UnitConfig, color: string, index: number): number {
  const host = resolveUnit(unit).network === 'host';
  if (!host) return unit.template.port;
  const ports = unit.colors.find((c) => c.name === color)?.hostPorts ?? [];
  const p = ports[index];
  if (p === undefined) throw new Error(`unit ${unit.name}: color ${color} has no hostPorts[${index}]`);
  return p;
}

/** `{{port}}` in the command, entrypoint and health check is the replica's port. */
function fill(args: readonly string[], port: number): string[] {
  return args.map((a) => a.replaceAll('{{port}}', String(port)));
}

/**
 * The Engine API body (POST /containers/create) of replica `index` of
 * `color`, from the unit's template with `image`. Pure: unit tests check the
 * mapping of networks, ports, health check and limits.
 */
export function containerBody(unit: UnitConfig, color: string, image: string, index: number, releaseId: string): Record<string, unknown> {
  const t = unit.template;
  const network = resolveUnit(unit).network;
  const port = replicaPort(unit, color, index);
  const env = { PORT: String(port), ...(t.env ?? {}) };
  const labels: Record<string, string> = { ...colorLabels(unit, color), [RELEASE_LABEL]: releaseId, [REPLICA_LABEL]: String(index) };
  if (network === 'host') labels[PORT_LABEL] = String(port);
  const hostConfig: Record<string, unknown> = { NetworkMode: network, RestartPolicy: { Name: 'no' } };
  const body: Record<string, unknown> = {
    Image: image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: labels,
    HostConfig: hostConfig,
  };
  if (t.command) body.Cmd = fill(t.command, port);
  if (t.entrypoint) body.Entrypoint = fill(t.entrypoint, port);
  if (t.stopTimeout) body.StopTimeout = Math.ceil(parseDuration(t.stopTimeout) / 1000);
  if (network !== 'host') {
    body.ExposedPorts = { [`${t.port}/tcp`]: {} };
    // Published on loopback with a port the daemon picks: discovery reads it back (published: true).
    if (t.publish) hostConfig.PortBindings = { [`${t.port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] };
  }
  if (t.healthCheck) {
    const h = resolveContainerHealthCheck(t.healthCheck);
    body.Healthcheck = {
      Test: ['CMD', ...fill(t.healthCheck.command, port)],
      Interval: ns(h.intervalMs),
      Timeout: ns(h.timeoutMs),
      Retries: h.retries,
      StartPeriod: ns(h.startPeriodMs),
    };
  }
  const r = t.resources;
  if (r?.memory) hostConfig.Memory = bytes(r.memory);
  if (r?.cpus) hostConfig.NanoCpus = Math.round(r.cpus * 1e9);
  if (r?.pids) hostConfig.PidsLimit = r.pids;
  return body;
}

/** `256m` → bytes. */
export function bytes(text: string): number {
  const m = /^([0-9]+)([kmg]?)$/.exec(text);
  if (!m) throw new Error(`not a size: ${text}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2] as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

/** The container name of replica `index`: unique per deploy, so a retry never collides with a leftover. */
export function containerName(unit: UnitConfig, color: string, releaseId: string, index: number): string {
  return `${unit.name}-${color}-${releaseId}-${index}`;
}
