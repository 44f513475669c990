import { formatHostPort } from '../util/address.ts';
import type { ContainerInspect } from './docker-engine.ts';

/** A container label that overrides the configured port (host networking: each replica listens on its own port). */
export const PORT_LABEL = 'edgeplane.port';

/** What discovery needs of a container, whichever API call it came from. */
export interface ContainerView {
  id: string;
  name: string;
  labels: Record<string, string>;
  running: boolean;
  /** `healthy`, `unhealthy`, `starting`, or null without a container health check. */
  health: string | null;
  networkMode: string;
  /** Network name → the container's IP on it. */
  networks: Record<string, string>;
  /** `8080/tcp` → published host bindings. */
  ports: Record<string, { hostIp: string; hostPort: number }[]>;
}

export interface AddressOptions {
  /** The container port the service listens on (the `edgeplane.port` label wins). */
  port: number;
  /** `host`: the container shares the host's network; else the name of the network whose address to use. */
  network: string;
  /** Use the port published on the host instead of the container's network address. */
  published: boolean;
  /** The address of the host's side (host networking, or published ports bound to 0.0.0.0); default 127.0.0.1. */
  hostAddress: string;
}

export function viewOfInspect(c: ContainerInspect): ContainerView {
  const ports: ContainerView['ports'] = {};
  for (const [key, bindings] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
    ports[key] = (bindings ?? []).map((b) => ({ hostIp: b.HostIp ?? '', hostPort: Number(b.HostPort) })).filter((b) => Number.isInteger(b.hostPort) && b.hostPort > 0);
  }
  const networks: Record<string, string> = {};
  for (const [name, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) if (n?.IPAddress) networks[name] = n.IPAddress;
  const health = c.State?.Health?.Status;
  return {
    id: c.Id,
    name: (c.Name ?? '').replace(/^\//, ''),
    labels: { ...(c.Config?.Labels ?? {}) },
    running: c.State?.Running === true || c.State?.Status === 'running',
    health: health && health !== 'none' ? health : null,
    networkMode: c.HostConfig?.NetworkMode ?? '',
    networks,
    ports,
  };
}

/**
 * Where a container serves, or why it is not an endpoint. Only a running
 * container counts; with a container health check, only once it reports
 * `healthy` (a `starting` or `unhealthy` one stays out of rotation, as it
 * would after a failing active check).
 */
export function containerAddress(c: ContainerView, o: AddressOptions): { address: string } | { skip: string } {
  if (!c.running) return { skip: 'not running' };
  if (c.health === 'unhealthy') return { skip: 'container health check: unhealthy' };
  if (c.health === 'starting') return { skip: 'container health check: starting' };
  let port = o.port;
  const labelled = c.labels[PORT_LABEL];
  if (labelled !== undefined) {
    const n = Number(labelled);
    if (!Number.isInteger(n) || n < 1 || n > 65535) return { skip: `label ${PORT_LABEL}=${JSON.stringify(labelled)} is not a port` };
    port = n;
  }
  if (o.network === 'host' || c.networkMode === 'host') return { address: formatHostPort({ host: o.hostAddress, port }) };
  if (o.published) {
    const binding = (c.ports[`${port}/tcp`] ?? [])[0];
    if (!binding) return { skip: `port ${port}/tcp is not published` };
    const unspecified = binding.hostIp === '' || binding.hostIp === '0.0.0.0' || binding.hostIp === '::';
    return { address: formatHostPort({ host: unspecified ? o.hostAddress : binding.hostIp, port: binding.hostPort }) };
  }
  const ip = c.networks[o.network];
  if (!ip) return { skip: `not attached to network "${o.network}"` };
  return { address: formatHostPort({ host: ip, port }) };
}

/** True when the container carries every one of `labels` (the daemon filters too; this guards against one that ignores a filter). */
export function matchesLabels(have: Record<string, string> | undefined, want: Record<string, string>): boolean {
  if (!have) return Object.keys(want).length === 0;
  return Object.entries(want).every(([k, v]) => have[k] === v);
}
