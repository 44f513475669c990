/**
 * Reading claims out of a verified payload: nested paths, header values,
 * scopes and claim matches. Payloads come from JSON.parse, so only own
 * properties are read (a `__proto__` claim can't reach the prototype).
 */

type Primitive = string | number | boolean;

/** A claim reference compiled once: `org.role` reads payload["org.role"] if present, else payload.org.role. */
export interface ClaimPath {
  readonly name: string;
  readonly segments: readonly string[];
}

export function compileClaimPath(name: string): ClaimPath {
  return { name, segments: name.split('.') };
}

export function readClaim(payload: Record<string, unknown>, path: ClaimPath): unknown {
  if (Object.hasOwn(payload, path.name)) return payload[path.name];
  if (path.segments.length === 1) return undefined;
  let cur: unknown = payload;
  for (const seg of path.segments) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** Field-value characters Node and undici accept (RFC 9110 §5.5: VCHAR, obs-text, SP, HTAB). */
function isHeaderSafe(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/**
 * A claim as a header value: strings as they are, numbers and booleans as
 * text, arrays of those joined by ",". Objects, absent claims and values a
 * header can't carry (CR, LF, non-Latin-1) give undefined: the header is not
 * sent at all rather than sent mangled.
 */
export function claimHeaderValue(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) text = value.join(',');
  else return undefined;
  return isHeaderSafe(text) ? text : undefined;
}

/** Scopes granted by a token: the space-delimited `scope` claim (RFC 8693) and `scp` (string or array). */
export function tokenScopes(payload: Record<string, unknown>): ReadonlySet<string> {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string') {
      for (const s of v.split(' ')) if (s !== '') out.add(s);
    } else if (Array.isArray(v)) {
      for (const s of v) if (typeof s === 'string' && s !== '') out.add(s);
    }
  };
  if (Object.hasOwn(payload, 'scope')) add(payload.scope);
  if (Object.hasOwn(payload, 'scp')) add(payload.scp);
  return out;
}

/** A route's required claim value(s), compiled once. */
export interface ClaimMatch {
  readonly path: ClaimPath;
  readonly accepted: readonly Primitive[];
}

export function compileClaimMatches(claims: Record<string, Primitive | Primitive[]>): ClaimMatch[] {
  return Object.entries(claims).map(([name, v]) => ({ path: compileClaimPath(name), accepted: Array.isArray(v) ? v : [v] }));
}

/** The claim equals one accepted value (strictly: 1 is not "1"); an array claim matches when any element does. */
export function claimMatches(payload: Record<string, unknown>, m: ClaimMatch): boolean {
  const v = readClaim(payload, m.path);
  if (Array.isArray(v)) return v.some((e) => m.accepted.includes(e as Primitive));
  return m.accepted.includes(v as Primitive);
}
