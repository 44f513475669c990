/**
 * What of an upstream response head goes on to the client, on the native
 * engine's common path: the upstream's field lines as slices of the text the
 * response parser read (checked there: no CR, LF or NUL inside a line), minus
 * hop-by-hop fields and the route's `responseHeaders.remove`. The usual head
 * (nginx: Server, Date, Content-Type, Content-Length, Connection) becomes two
 * slices: no field is cut into name and value strings, none is re-joined.
 */
import { rangeIs, type ResponseHead } from './http1/response-head.ts';
import { HOP_BY_HOP, connectionTokens, nameLengths } from './http-util.ts';

/** Hop-by-hop names by length: a name of another length is none of them. */
const HOP_BY_LENGTH: string[][] = [];
for (const name of HOP_BY_HOP) (HOP_BY_LENGTH[name.length] ??= []).push(name);

const removeLengths = new WeakMap<ReadonlySet<string>, Uint8Array>();
function lengthsOf(set: ReadonlySet<string>): Uint8Array {
  let l = removeLengths.get(set);
  if (l === undefined) removeLengths.set(set, (l = nameLengths(set)));
  return l;
}

/**
 * The field lines to forward (each ending in CRLF), or null when the
 * upstream's Connection header lists field names to strip as hop-by-hop too:
 * the caller then takes the field-by-field path. `remove`: lower-case names.
 */
export function forwardedFieldLines(head: ResponseHead, remove: ReadonlySet<string> | null): string | null {
  const t = head.text;
  const f = head.fields;
  const removeLens = remove !== null && remove.size > 0 ? lengthsOf(remove) : null;
  let out = '';
  /** Start of the run of kept lines not copied to `out` yet. */
  let run = head.fieldsFrom;
  for (let k = 0; k < f.length; k += 4) {
    const from = f[k]!;
    const n = f[k + 1]! - from;
    let drop = false;
    const hop = HOP_BY_LENGTH[n];
    if (hop !== undefined) {
      for (let h = 0; h < hop.length; h++) {
        if (rangeIs(t, from, hop[h]!)) {
          if (n === 10 && hop[h] === 'connection' && connectionTokens(t.slice(f[k + 2]!, f[k + 3]!), null) !== null) return null;
          drop = true;
          break;
        }
      }
    }
    if (!drop && removeLens !== null && n < removeLens.length && removeLens[n] === 1 && remove!.has(t.slice(from, from + n).toLowerCase())) drop = true;
    if (drop) {
      if (from > run) out += t.slice(run, from);
      run = k + 4 < f.length ? f[k + 4]! : t.length;
    }
  }
  return run < t.length ? out + t.slice(run) : out;
}

/** Whether the forwarded lines carry the upstream's Content-Length (then the response needs no framing of its own). */
export function forwardsLength(head: ResponseHead, remove: ReadonlySet<string> | null): boolean {
  return head.contentLength >= 0 && (remove === null || !remove.has('content-length'));
}
