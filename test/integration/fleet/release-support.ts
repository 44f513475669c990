import http from 'node:http';
import type { TestContext } from 'node:test';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { EtcdCluster } from './etcd-cluster.ts';
import { call, converged, newPrefix, nodeConfig, TOKEN } from './support.ts';

/**
 * A one-member etcd, blue and green demo upstreams and one gateway per id on
 * a fresh prefix (leaseTtl 2s), all stopped when the test ends; resolves once
 * every node serves version 1 and agrees on the release driver.
 */
export async function startFleet(t: TestContext, ids: string[]): Promise<{ nodes: GatewayProcess[]; driverId: string; byId: (id: string) => GatewayProcess; etcd: EtcdCluster; prefix: string }> {
  const etcd = await EtcdCluster.start(1);
  t.after(() => etcd.stop());
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const prefix = newPrefix();
  const nodes: GatewayProcess[] = [];
  t.after(() => Promise.all(nodes.map((n) => n.stop('SIGKILL'))));
  // One after the other: the first seeds the store and (being alone) is elected.
  for (const id of ids) nodes.push(await startGateway(nodeConfig(id, etcd, prefix, [blue.address], [green.address], { admin: { address: '127.0.0.1:0', token: TOKEN } })));
  await converged(nodes, 1);
  const driverId = await agreedDriver(nodes, ids);
  return { nodes, driverId, byId: (id) => nodes[ids.indexOf(id)]!, etcd, prefix };
}

/** Who drives the fleet's releases as `gw` sees it (GET /v1/status `releases.driver.id`), or null. */
export async function driverSeenBy(gw: GatewayProcess): Promise<string | null> {
  const res = await call(gw, 'GET', '/v1/status');
  return res.status === 200 ? (res.body.releases?.driver?.id ?? null) : null;
}

/** Waits until every node in `nodes` names the same driver, which is one of `candidates`; returns its id. */
export async function agreedDriver(nodes: GatewayProcess[], candidates: string[], timeoutMs = 30_000): Promise<string> {
  return waitFor(
    async () => {
      const seen = await Promise.all(nodes.map((n) => driverSeenBy(n).catch(() => null)));
      return seen[0] && candidates.includes(seen[0]) && seen.every((s) => s === seen[0]) ? seen[0] : null;
    },
    { timeoutMs, intervalMs: 50, what: `every node to agree on a release driver among ${candidates.join(', ')}` },
  );
}

/** Waits until release `id`, as `gw` shows it, is in one of `phases`; on timeout the error carries the release as last seen. */
export async function releaseReaches(gw: GatewayProcess, id: string, phases: string[], timeoutMs = 90_000): Promise<any> {
  let last: any = null;
  try {
    return await waitFor(async () => {
      last = await releaseOn(gw, id);
      return phases.includes(last.phase) ? last : null;
    }, { timeoutMs, intervalMs: 100, what: `release ${id} to reach ${phases.join(' or ')}` });
  } catch (err) {
    const brief = last && { phase: last.phase, reason: last.reason, step: last.step, history: last.history.map((h: any) => `${h.at} ${h.driver ?? ''} ${h.phase} ${h.step}: ${h.reason}`) };
    throw new Error(`${(err as Error).message}\nlast seen: ${JSON.stringify(brief, null, 2)}`);
  }
}

export async function releaseOn(gw: GatewayProcess, id: string): Promise<any> {
  const res = await call(gw, 'GET', `/v1/releases/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/releases/${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Steady traffic through the given nodes (one keep-alive agent each), so
 * the gates have requests to judge. Returns the counts and a stop function.
 */
export function trafficLoop(targets: { gw: GatewayProcess; path: string }[], everyMs = 15): { stop: () => Promise<void>; sent: Map<string, number> } {
  let stopped = false;
  const sent = new Map<string, number>();
  const loops = targets.map(async ({ gw, path }) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    while (!stopped) {
      let url: string;
      try {
        url = gw.url('http');
      } catch {
        return;
      }
      await new Promise<void>((resolve) => {
        const req = http.get(url + path, { agent, timeout: 2000 }, (res) => {
          res.resume();
          res.on('end', () => resolve());
          res.on('error', () => resolve());
        });
        req.on('error', () => resolve());
        req.on('timeout', () => req.destroy());
      });
      sent.set(gw.configPath, (sent.get(gw.configPath) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, everyMs));
    }
    agent.destroy();
  });
  return {
    sent,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** A canary of route `api` to `green` with short windows and a low request minimum (test timings). */
export function canaryBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    route: 'api',
    to: 'green',
    strategy: 'canary',
    steps: [20, 40, 60, 100],
    stepDuration: '3s',
    interval: '250ms',
    readinessTimeout: '30s',
    gates: { maxErrorRate: 5, maxP99Latency: '5s', maxEjections: 100, minRequests: 5 },
    ...overrides,
  };
}
