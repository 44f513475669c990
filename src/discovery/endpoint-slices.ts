import { formatHostPort } from '../util/address.ts';
import { DiscoveryError } from './errors.ts';

/** The parts of a discovery.k8s.io/v1 EndpointSlice that discovery reads. */
export interface EndpointSlice {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  addressType: 'IPv4' | 'IPv6' | 'FQDN' | string;
  endpoints?: EndpointSliceEndpoint[] | null;
  ports?: EndpointSlicePort[] | null;
}

export interface EndpointSliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } | null;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
}

export interface EndpointSlicePort {
  name?: string | null;
  protocol?: string | null;
  port?: number | null;
  appProtocol?: string | null;
}

/** Shape check of one object from the API: enough to trust the fields we read. */
export function asEndpointSlice(obj: unknown): EndpointSlice {
  const o = obj as EndpointSlice;
  if (!o || typeof o !== 'object' || !o.metadata || typeof o.metadata.name !== 'string' || typeof o.addressType !== 'string') {
    throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', 'object is not an EndpointSlice (missing metadata.name or addressType)');
  }
  if (o.endpoints != null && !Array.isArray(o.endpoints)) throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', `EndpointSlice ${o.metadata.name}: endpoints is not a list`);
  if (o.ports != null && !Array.isArray(o.ports)) throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', `EndpointSlice ${o.metadata.name}: ports is not a list`);
  return o;
}

/**
 * The ready endpoints of a Service's slices as `host:port`.
 *
 * - Ready means `conditions.ready` is not false; the API defines an absent
 *   value as "unknown, treat as ready". Terminating pods are not ready.
 * - Only an endpoint's first address is used (the API says they are
 *   fungible), so a dual-listed pod is not counted twice.
 * - The port: a number is used as is; a name picks the slice port of that
 *   name (slices without it contribute nothing); none picks the slice's only
 *   port and is an error if the slice has several.
 * - Duplicates across slices (they overlap briefly during updates) collapse.
 */
export function sliceAddresses(slices: Iterable<EndpointSlice>, port: number | string | undefined): string[] {
  const out = new Set<string>();
  for (const slice of slices) {
    const p = slicePort(slice, port);
    if (p === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep?.conditions?.ready === false) continue;
      const host = ep?.addresses?.[0];
      if (typeof host !== 'string' || host === '') continue;
      out.add(formatHostPort({ host, port: p }));
    }
  }
  return [...out].sort();
}

function slicePort(slice: EndpointSlice, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  const ports = (slice.ports ?? []).filter((p) => p && typeof p.port === 'number' && (p.protocol ?? 'TCP') === 'TCP');
  if (typeof port === 'string') return ports.find((p) => p.name === port)?.port ?? undefined;
  if (ports.length === 0) return undefined;
  if (ports.length > 1) {
    throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', `EndpointSlice ${slice.metadata.name} has ${ports.length} ports (${ports.map((p) => p.name || p.port).join(', ')}); set discovery.kubernetes.port`);
  }
  return ports[0]!.port ?? undefined;
}
