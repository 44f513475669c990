import { readFileSync, statSync, accessSync, constants } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Config } from './schema/index.ts';
import type { RawIssue } from './issue.ts';
import { parseHostPort } from '../util/address.ts';
import { stateDirOf } from '../control/options.ts';
import { adminAddressOf } from '../admin/options.ts';

/** A preflight finding: errors stop `validate` (exit 1) and `run` (nothing binds); warnings are printed and logged. */
export interface PreflightIssue extends RawIssue {
  severity: 'error' | 'warning';
}

export interface PreflightOptions {
  /** Relative paths in the config resolve against this (the config file's directory). */
  baseDir: string;
  /** `now` for certificate validity (injected for tests). */
  now?: number;
}

/**
 * What `run` needs from the machine beyond a schema-valid config, checked
 * before anything binds: every file the config names is readable (and
 * parses, for certificates, keys and JWKS), each certificate matches its key
 * and covers the route hosts its listener serves, and the state directory can
 * be created and written. `edgeplane validate` runs the same checks, so it
 * passes exactly the configs `run` accepts (short of a busy port: see
 * `probeAdminAddress`).
 */
export function preflight(config: Config, options: PreflightOptions): PreflightIssue[] {
  const issues: PreflightIssue[] = [];
  const now = options.now ?? Date.now();
  const file = (rel: string) => resolve(options.baseDir, rel);
  const error = (path: (string | number)[], message: string) => issues.push({ path, message, severity: 'error' });
  const warning = (path: (string | number)[], message: string) => issues.push({ path, message, severity: 'warning' });

  const routeHosts: { host: string; path: (string | number)[] }[] = [];
  config.routes.forEach((r, i) => r.match.hosts?.forEach((h, j) => routeHosts.push({ host: h.toLowerCase(), path: ['routes', i, 'match', 'hosts', j] })));

  config.listeners.forEach((l, i) => {
    if (!l.tls) return;
    const names: string[] = [];
    l.tls.certificates.forEach((c, j) => {
      const base = ['listeners', i, 'tls', 'certificates', j];
      const certText = readable(file(c.cert), 'certificate', [...base, 'cert'], error);
      const keyText = readable(file(c.key), 'private key', [...base, 'key'], error);
      let x509: X509Certificate | undefined;
      let key: KeyObject | undefined;
      if (certText !== undefined) {
        try {
          x509 = new X509Certificate(certText);
        } catch (err) {
          error([...base, 'cert'], `${file(c.cert)} is not a PEM certificate: ${(err as Error).message}`);
        }
      }
      if (keyText !== undefined) {
        try {
          key = createPrivateKey(keyText);
        } catch (err) {
          error([...base, 'key'], `${file(c.key)} is not a PEM private key: ${(err as Error).message}`);
        }
      }
      if (!x509) return;
      if (key && !x509.checkPrivateKey(key)) error([...base, 'key'], `${file(c.key)} does not match the certificate ${file(c.cert)}`);
      const notAfter = Date.parse(x509.validTo);
      if (Number.isFinite(notAfter) && notAfter < now) warning([...base, 'cert'], `${file(c.cert)} expired on ${new Date(notAfter).toISOString()}`);
      names.push(...certificateNames(x509));
    });
    if (names.length === 0) return; // the certificates themselves are reported above
    for (const { host, path } of routeHosts) {
      if (!covers(names, host)) {
        warning(path, `listener "${l.name}" (listeners[${i}]) has no certificate for ${host} (it has ${names.join(', ')}): HTTPS clients get the default certificate and a name mismatch`);
      }
    }
  });

  config.clusters.forEach((c, i) => {
    if (c.tls?.ca) readable(file(c.tls.ca), 'CA bundle', ['clusters', i, 'tls', 'ca'], error);
    const kubeconfig = c.discovery?.kubernetes?.kubeconfig;
    if (kubeconfig) readable(file(kubeconfig), 'kubeconfig', ['clusters', i, 'discovery', 'kubernetes', 'kubeconfig'], error);
  });

  config.jwt?.providers.forEach((p, i) => {
    if (p.jwks?.file) {
      const path = ['jwt', 'providers', i, 'jwks', 'file'];
      const text = readable(file(p.jwks.file), 'JWKS file', path, error);
      if (text !== undefined) {
        try {
          const keys = (JSON.parse(text.toString('utf8')) as { keys?: unknown }).keys;
          if (!Array.isArray(keys)) error(path, `${file(p.jwks.file)} has no "keys" array`);
        } catch (err) {
          error(path, `${file(p.jwks.file)} is not JSON: ${(err as Error).message}`);
        }
      }
    }
    if (p.publicKey?.file) readable(file(p.publicKey.file), 'public key', ['jwt', 'providers', i, 'publicKey', 'file'], error);
  });

  if (config.dns?.geo?.mmdb) readable(file(config.dns.geo.mmdb.path), 'MaxMind DB', ['dns', 'geo', 'mmdb', 'path'], error);

  // No listeners is a DNS-only gateway when there is a dns section (run says so); with neither it serves nothing.
  if (config.listeners.length === 0 && !config.dns) {
    error(['listeners'], 'no listeners and no dns section: this gateway would serve nothing (add a listener, or a dns section for a DNS-only gateway)');
  }

  const configured = stateDirOf(config);
  const stateDir = file(configured.dir);
  const problem = stateDirProblem(stateDir);
  if (problem) error(configured.path, `state directory ${stateDir} ${problem}`);
  return issues;
}

/**
 * Binds the admin address for a moment: a busy port fails the start here,
 * naming the admin listener, before any data listener binds and before
 * anything is persisted. Returns the problem, or null when the port is free.
 */
export async function probeAdminAddress(config: Config): Promise<PreflightIssue | null> {
  const address = adminAddressOf(config.admin);
  const { host, port } = parseHostPort(address);
  if (port === 0) return null;
  const code = await new Promise<string | null>((res) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => res(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => res(null)));
  });
  if (code === null) return null;
  const why = code === 'EADDRINUSE' ? 'is already in use by another process' : code === 'EACCES' ? 'needs privileges to bind (a port below 1024)' : `cannot be bound (${code})`;
  return { path: config.admin?.address !== undefined ? ['admin', 'address'] : ['admin'], message: `the admin listener's address ${address} ${why} (${code})`, severity: 'error' };
}

function readable(path: string, what: string, at: (string | number)[], error: (p: (string | number)[], m: string) => void): Buffer | undefined {
  try {
    if (statSync(path).isDirectory()) {
      error(at, `${what} ${path} is a directory, not a file`);
      return undefined;
    }
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    error(at, `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? (err as Error).message}`);
    return undefined;
  }
}

/** Why `dir` can't be used as the state directory (created with mkdir -p, then written), or null. */
export function stateDirProblem(dir: string): string | null {
  let probe = dir;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(probe).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const parent = dirname(probe);
        if (parent === probe) return 'cannot be created';
        probe = parent;
        continue;
      }
      return `cannot be created: ${probe}: ${code ?? (err as Error).message}`;
    }
    if (!isDir) return probe === dir ? 'is not a directory' : `cannot be created: ${probe} is not a directory`;
    try {
      accessSync(probe, constants.W_OK | constants.X_OK);
    } catch {
      return probe === dir ? 'is not writable by this user' : `cannot be created: ${probe} is not writable by this user`;
    }
    return null;
  }
}

function certificateNames(x509: X509Certificate): string[] {
  const names: string[] = [];
  for (const part of (x509.subjectAltName ?? '').split(',')) {
    const p = part.trim();
    if (p.startsWith('DNS:')) names.push(p.slice(4).toLowerCase());
  }
  if (names.length === 0) {
    const cn = /CN=([^\n,]+)/.exec(x509.subject)?.[1];
    if (cn) names.push(cn.trim().toLowerCase());
  }
  return names;
}

/** RFC 6125: a `*.` name covers exactly one more label; a route's `*.suffix` host needs the same wildcard. */
function covers(names: readonly string[], host: string): boolean {
  if (names.includes(host)) return true;
  if (host.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && names.includes(`*${host.slice(dot)}`);
}
