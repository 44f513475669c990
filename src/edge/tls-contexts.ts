import { readFileSync, watchFile, unwatchFile } from 'node:fs';
import { resolve } from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls';
import type { ListenerConfig } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import { EdgeplaneError } from '../util/errors.ts';
import { ListenerTls } from '../config/schema/listeners.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

const TLS = defaultsOf(ListenerTls, ['minVersion', 'reload', 'http2']);

/** Whether a TLS listener offers h2 by ALPN (`tls.http2`, default declared on the schema field). */
export function offersH2(c: { http2?: boolean | undefined } | undefined): boolean {
  return c?.http2 ?? TLS.http2;
}

export class TlsConfigError extends EdgeplaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EP_TLS_CONFIG', message, options);
  }
}

interface LoadedCert {
  names: string[];
  context: SecureContext;
  cert: Buffer;
  key: Buffer;
}

/**
 * The certificates of one TLS listener, chosen by SNI from their SANs (exact
 * names first, then `*.` wildcards; the first certificate when none matches),
 * and reloaded when their files change. Reloading replaces the contexts used by
 * new handshakes; open connections keep theirs.
 */
export class TlsContexts {
  #exact = new Map<string, SecureContext>();
  #wildcard = new Map<string, SecureContext>();
  #default!: LoadedCert;
  #files: string[] = [];
  readonly #tls: NonNullable<ListenerConfig['tls']>;
  readonly #baseDir: string;
  readonly #logger: Logger;
  #onReload: ((defaults: { cert: Buffer; key: Buffer }) => void) | null = null;
  #watching = false;

  constructor(tls: NonNullable<ListenerConfig['tls']>, baseDir: string, logger: Logger) {
    this.#tls = tls;
    this.#baseDir = baseDir;
    this.#logger = logger;
    this.#load();
  }

  get minVersion(): SecureVersion {
    return (this.#tls.minVersion ?? TLS.minVersion) as SecureVersion;
  }

  get defaultCert(): { cert: Buffer; key: Buffer } {
    return { cert: this.#default.cert, key: this.#default.key };
  }

  /** The SNICallback for tls.Server. */
  sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.select(servername));
  };

  select(servername: string | undefined): SecureContext {
    if (servername) {
      const name = servername.toLowerCase();
      const exact = this.#exact.get(name);
      if (exact) return exact;
      const dot = name.indexOf('.');
      if (dot > 0) {
        const wild = this.#wildcard.get(name.slice(dot));
        if (wild) return wild;
      }
    }
    return this.#default.context;
  }

  /** Names per certificate, for the startup log and tests. */
  names(): string[][] {
    const seen = new Map<SecureContext, string[]>();
    for (const [n, c] of this.#exact) seen.set(c, [...(seen.get(c) ?? []), n]);
    for (const [n, c] of this.#wildcard) seen.set(c, [...(seen.get(c) ?? []), `*${n}`]);
    return [...seen.values()];
  }

  /** Polls the certificate files and reloads on change; `onReload` updates the server's default context. */
  watch(onReload: (defaults: { cert: Buffer; key: Buffer }) => void, intervalMs = 1000): void {
    if (!(this.#tls.reload ?? TLS.reload) || this.#watching) return;
    this.#onReload = onReload;
    this.#watching = true;
    for (const f of this.#files) {
      watchFile(f, { interval: intervalMs, persistent: false }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) this.#reload();
      });
    }
  }

  close(): void {
    if (!this.#watching) return;
    for (const f of this.#files) unwatchFile(f);
    this.#watching = false;
  }

  #reload(): void {
    try {
      this.#load();
      this.#onReload?.(this.defaultCert);
      this.#logger.info({ certificates: this.names() }, 'TLS certificates reloaded');
    } catch (err) {
      // A half-written or mismatched pair must not take the listener down: keep the old contexts.
      this.#logger.error({ err: (err as Error).message }, 'TLS certificate reload failed; keeping the previous certificates');
    }
  }

  #load(): void {
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    const files: string[] = [];
    let first: LoadedCert | undefined;
    for (const entry of this.#tls.certificates) {
      const certPath = resolve(this.#baseDir, entry.cert);
      const keyPath = resolve(this.#baseDir, entry.key);
      files.push(certPath, keyPath);
      let cert: Buffer;
      let key: Buffer;
      try {
        cert = readFileSync(certPath);
        key = readFileSync(keyPath);
      } catch (err) {
        throw new TlsConfigError(`cannot read certificate ${entry.cert} / ${entry.key}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
      }
      let context: SecureContext;
      let names: string[];
      try {
        context = createSecureContext({
          cert,
          key,
          minVersion: this.minVersion,
          ...(this.#tls.ciphers ? { ciphers: this.#tls.ciphers } : {}),
        });
        const x509 = new X509Certificate(cert);
        if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not match the certificate');
        names = sanNames(x509);
      } catch (err) {
        throw new TlsConfigError(`invalid certificate ${entry.cert}: ${(err as Error).message}`, { cause: err });
      }
      const loaded: LoadedCert = { names, context, cert, key };
      first ??= loaded;
      for (const n of names) {
        if (n.startsWith('*.')) {
          if (!wildcard.has(n.slice(1))) wildcard.set(n.slice(1), context);
        } else if (!exact.has(n)) exact.set(n, context);
      }
    }
    this.#exact = exact;
    this.#wildcard = wildcard;
    this.#default = first!;
    this.#files = files;
  }
}

function sanNames(x509: X509Certificate): string[] {
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
