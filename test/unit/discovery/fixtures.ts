import type { EndpointSlice } from '../../../src/discovery/endpoint-slices.ts';

/** A discovery.k8s.io/v1 EndpointSlice as the API server returns it. */
export function slice(name: string, endpoints: { ip: string; ready?: boolean | null; terminating?: boolean }[], ports: { name?: string; port: number; protocol?: string }[] = [{ name: 'http', port: 8080 }], addressType = 'IPv4'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'prod', resourceVersion: '1', labels: { 'kubernetes.io/service-name': 'api', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType,
    endpoints: endpoints.map((e, i) => ({
      addresses: [e.ip],
      conditions: e.ready === null ? {} : { ready: e.ready ?? true, serving: e.ready ?? true, terminating: e.terminating ?? false },
      nodeName: `node-${i}`,
      targetRef: { kind: 'Pod', namespace: 'prod', name: `api-${i}`, uid: `uid-${i}` },
    })),
    ports: ports.map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port })),
  };
}
