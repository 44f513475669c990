import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DiscoveryError } from './errors.ts';

/** Where the kubelet mounts a pod's service account. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How to reach and authenticate to an API server. */
export interface KubeCredentials {
  /** Base URL, no trailing slash. */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  insecureSkipVerify: boolean;
  /** The Authorization header for the next request, if any. Token files are re-read each time: projected service-account tokens rotate. */
  authorization(): string | undefined;
  /** Where the credentials came from, for messages. */
  origin: string;
}

export interface CredentialOptions {
  apiServer?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  baseDir: string;
  env?: NodeJS.ProcessEnv;
  serviceAccountDir?: string;
}

function fail(message: string): never {
  throw new DiscoveryError('EP_DISCOVERY_K8S_CONFIG', message);
}

function readOrFail(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    return fail(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function tokenFromFile(path: string): () => string | undefined {
  // Re-read on every call but survive a transient failure with the last value.
  let last: string | undefined;
  return () => {
    try {
      last = readFileSync(path, 'utf8').trim() || last;
    } catch {
      // keep the last token
    }
    return last;
  };
}

function bearer(token: () => string | undefined): () => string | undefined {
  return () => {
    const t = token();
    return t === undefined ? undefined : `Bearer ${t}`;
  };
}

/**
 * Resolves the credentials, in this order:
 * 1. `kubeconfig` (with `context`, else its current-context); `apiServer`
 *    overrides the server URL;
 * 2. `apiServer` alone: that URL, plus the pod's service account token and CA
 *    if they are mounted (none for e.g. `kubectl proxy` on http);
 * 3. in-cluster: KUBERNETES_SERVICE_HOST/PORT and the service account.
 * Exec and auth-provider plugins in a kubeconfig are not supported.
 */
export function loadKubeCredentials(o: CredentialOptions): KubeCredentials {
  const env = o.env ?? process.env;
  const saDir = o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (o.kubeconfig) return fromKubeconfig(resolve(o.baseDir, o.kubeconfig), o.context, o.apiServer);
  if (o.apiServer) {
    const server = checkUrl(o.apiServer, 'discovery.kubernetes.apiServer');
    const hasSa = server.startsWith('https:') && existsSync(join(saDir, 'token'));
    return {
      server,
      ...(hasSa && existsSync(join(saDir, 'ca.crt')) ? { ca: readOrFail(join(saDir, 'ca.crt'), 'service account CA') } : {}),
      insecureSkipVerify: false,
      authorization: hasSa ? bearer(tokenFromFile(join(saDir, 'token'))) : () => undefined,
      origin: hasSa ? `${server} with the service account in ${saDir}` : server,
    };
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) fail('not running in a Kubernetes cluster (KUBERNETES_SERVICE_HOST unset): set discovery.kubernetes.kubeconfig or apiServer');
  const tokenPath = join(saDir, 'token');
  if (!existsSync(tokenPath)) fail(`in-cluster service account token ${tokenPath} not found (automountServiceAccountToken: false?)`);
  const token = tokenFromFile(tokenPath);
  if (token() === undefined) fail(`cannot read the service account token ${tokenPath}`);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readOrFail(join(saDir, 'ca.crt'), 'service account CA'),
    insecureSkipVerify: false,
    authorization: bearer(token),
    origin: `in-cluster service account (${saDir})`,
  };
}

function checkUrl(text: string, what: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`${what}: invalid URL ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(`${what}: URL must be http or https, got ${url.protocol}`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

interface Named<T> {
  name?: string;
  [key: string]: unknown;
  value?: T;
}

function fromKubeconfig(path: string, contextName: string | undefined, apiServer: string | undefined): KubeCredentials {
  let doc: Record<string, unknown>;
  try {
    doc = parseYaml(readOrFail(path, 'kubeconfig').toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof DiscoveryError) throw err;
    return fail(`kubeconfig ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object') fail(`kubeconfig ${path} is empty`);
  const dir = dirname(path);
  const rel = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const pick = <T>(list: unknown, key: string, name: string | undefined, what: string): T => {
    const items = (Array.isArray(list) ? list : []) as Named<T>[];
    const item = items.find((i) => i?.name === name);
    if (!item || typeof item[key] !== 'object' || item[key] === null) return fail(`kubeconfig ${path}: ${what} ${JSON.stringify(name)} not found`);
    return item[key] as T;
  };
  const ctxName = contextName ?? (doc['current-context'] as string | undefined);
  if (!ctxName) fail(`kubeconfig ${path}: no current-context; set discovery.kubernetes.context`);
  const ctx = pick<{ cluster?: string; user?: string }>(doc.contexts, 'context', ctxName, 'context');
  const cluster = pick<Record<string, unknown>>(doc.clusters, 'cluster', ctx.cluster, 'cluster');
  const user = ctx.user ? pick<Record<string, unknown>>(doc.users, 'user', ctx.user, 'user') : {};
  if (user.exec || user['auth-provider']) fail(`kubeconfig ${path}: user ${ctx.user} uses an exec/auth-provider plugin, which edgeplane does not run; use a token or client certificate`);

  const server = checkUrl(apiServer ?? String(cluster.server ?? ''), apiServer ? 'discovery.kubernetes.apiServer' : `kubeconfig ${path} cluster ${ctx.cluster} server`);
  const b64 = (v: unknown) => Buffer.from(String(v), 'base64');
  const creds: KubeCredentials = {
    server,
    insecureSkipVerify: cluster['insecure-skip-tls-verify'] === true,
    authorization: () => undefined,
    origin: `kubeconfig ${path} context ${ctxName}`,
  };
  if (cluster['certificate-authority-data']) creds.ca = b64(cluster['certificate-authority-data']);
  else if (cluster['certificate-authority']) creds.ca = readOrFail(rel(String(cluster['certificate-authority'])), 'certificate-authority');
  if (typeof cluster['tls-server-name'] === 'string') creds.servername = cluster['tls-server-name'];
  if (user['client-certificate-data']) creds.cert = b64(user['client-certificate-data']);
  else if (user['client-certificate']) creds.cert = readOrFail(rel(String(user['client-certificate'])), 'client-certificate');
  if (user['client-key-data']) creds.key = b64(user['client-key-data']);
  else if (user['client-key']) creds.key = readOrFail(rel(String(user['client-key'])), 'client-key');
  if ((creds.cert === undefined) !== (creds.key === undefined)) fail(`kubeconfig ${path}: user ${ctx.user} has a client certificate without a key or the reverse`);
  if (typeof user.token === 'string' && user.token) {
    const header = `Bearer ${user.token}`;
    creds.authorization = () => header;
  } else if (typeof user.tokenFile === 'string') {
    creds.authorization = bearer(tokenFromFile(rel(user.tokenFile)));
  } else if (typeof user.username === 'string' && typeof user.password === 'string') {
    const header = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    creds.authorization = () => header;
  }
  return creds;
}
