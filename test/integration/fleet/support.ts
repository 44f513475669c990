import { Etcd3 } from 'etcd3';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { call, gatewayConfig } from '../admin/support.ts';
import type { EtcdCluster } from './etcd-cluster.ts';

export { call, request, metricValue, TOKEN } from '../admin/support.ts';

let prefixSeq = 0;
/** A fresh key prefix per test, so tests sharing an etcd never see each other's fleet. */
export function newPrefix(): string {
  return `/edgeplane-test/${process.pid}-${Date.now()}-${++prefixSeq}`;
}

/** One node's config: the admin support config with this node's id and the etcd store (short timings for tests). */
export function nodeConfig(id: string, etcd: EtcdCluster, prefix: string, blue: string[], green: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return gatewayConfig(blue, green, {
    node: { id, region: 'jp' },
    store: { etcd: { endpoints: etcd.endpoints, prefix, dialTimeout: '1s', requestTimeout: '1s', leaseTtl: '2s', keepaliveInterval: '1s', keepaliveTimeout: '1s', probeInterval: '200ms' } },
    ...extra,
  });
}

export async function startNodes(etcd: EtcdCluster, prefix: string, blue: string[], green: string[], ids: string[]): Promise<GatewayProcess[]> {
  const nodes: GatewayProcess[] = [];
  // One after the other: the first seeds the empty store from its file, the others find it there.
  for (const id of ids) nodes.push(await startGateway(nodeConfig(id, etcd, prefix, blue, green)));
  return nodes;
}

export async function versionOf(gw: GatewayProcess): Promise<number> {
  return (await call(gw, 'GET', '/v1/status')).body.version as number;
}

/** Waits until every node serves `version`. */
export async function converged(nodes: GatewayProcess[], version: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => (await Promise.all(nodes.map(versionOf))).every((v) => v === version), { timeoutMs, what: `every node to serve version ${version}` });
}

/** A plain etcd client for tests that write into etcd behind edgeplane's back. */
export function rawClient(etcd: EtcdCluster): Etcd3 {
  return new Etcd3({ hosts: etcd.endpoints });
}

export function splitOf(body: any, route = 'api'): { cluster: string; weight: number }[] {
  return body.config.routes.find((r: { name: string }) => r.name === route).split;
}
