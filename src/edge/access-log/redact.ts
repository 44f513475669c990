/** Query parameters whose values never reach a log line (credentials travel in them: JWT query tokens, signed URLs, OAuth codes). */
export const DEFAULT_REDACTED_QUERY = ['token', 'access_token', 'id_token', 'jwt', 'api_key', 'apikey', 'key', 'password', 'secret', 'signature', 'sig', 'code'];

export const REDACTED = '[redacted]';

/** Builds a redactor for the query part of a path or URL; names match case-insensitively, after percent-decoding. */
export function queryRedactor(extra: readonly string[] = []): (target: string) => string {
  const names = new Set([...DEFAULT_REDACTED_QUERY, ...extra].map((n) => n.toLowerCase()));
  return (target) => {
    const q = target.indexOf('?');
    if (q < 0) return target;
    const hash = target.indexOf('#', q);
    const query = hash < 0 ? target.slice(q + 1) : target.slice(q + 1, hash);
    let changed = false;
    const parts = query.split('&').map((part) => {
      const eq = part.indexOf('=');
      const rawName = eq < 0 ? part : part.slice(0, eq);
      if (!names.has(decodeName(rawName))) return part;
      changed = true;
      return `${rawName}=${REDACTED}`;
    });
    if (!changed) return target;
    return `${target.slice(0, q + 1)}${parts.join('&')}${hash < 0 ? '' : target.slice(hash)}`;
  };
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}
