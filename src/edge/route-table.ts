import type { RouteConfig } from '../config/schema/index.ts';
import { HeaderMatch } from '../config/schema/routes.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

const HEADER_MATCH = defaultsOf(HeaderMatch, ['present']);

/**
 * Route matching, compiled once per snapshot.
 *
 * Precedence (documented in docs/routing.md):
 *  1. Host: routes listing the exact host, then routes whose `*.suffix` wildcard
 *     matches (longest suffix first), then routes with no `hosts`. If no route of
 *     a more specific host group matches the rest, the next group is tried.
 *  2. Within a host group, by path: exact paths, then regexes in config order,
 *     then prefixes, longest first (config order among equal lengths).
 *  3. Among routes with the same path, config order; methods and headers must
 *     also match.
 */
export interface CompiledHeaderMatch {
  name: string;
  test: (value: string | undefined) => boolean;
}

export interface RouteCandidate<R> {
  route: R;
  methods: ReadonlySet<string> | null;
  headers: readonly CompiledHeaderMatch[];
}

interface HostGroup<R> {
  exact: Map<string, RouteCandidate<R>[]>;
  regexes: { regex: RegExp; candidate: RouteCandidate<R> }[];
  prefixes: { prefix: string; candidate: RouteCandidate<R> }[];
}

type HeaderGetter = (name: string) => string | undefined;

export class RouteTable<R> {
  #exactHosts = new Map<string, HostGroup<R>>();
  /** Sorted longest suffix first; suffix includes the leading dot. */
  #wildcards: { suffix: string; group: HostGroup<R> }[] = [];
  #anyHost: HostGroup<R> = newGroup();

  constructor(routes: readonly { config: RouteConfig; route: R }[]) {
    const wildcardGroups = new Map<string, HostGroup<R>>();
    for (const { config, route } of routes) {
      const candidate: RouteCandidate<R> = {
        route,
        methods: config.match.methods ? new Set(config.match.methods) : null,
        headers: (config.match.headers ?? []).map(compileHeaderMatch),
      };
      const groups: HostGroup<R>[] = [];
      if (!config.match.hosts || config.match.hosts.length === 0) groups.push(this.#anyHost);
      for (const raw of config.match.hosts ?? []) {
        const host = raw.toLowerCase();
        if (host.startsWith('*.')) {
          const suffix = host.slice(1);
          let g = wildcardGroups.get(suffix);
          if (!g) wildcardGroups.set(suffix, (g = newGroup()));
          groups.push(g);
        } else {
          let g = this.#exactHosts.get(host);
          if (!g) this.#exactHosts.set(host, (g = newGroup()));
          groups.push(g);
        }
      }
      for (const g of new Set(groups)) addToGroup(g, config, candidate);
    }
    this.#wildcards = [...wildcardGroups.entries()]
      .map(([suffix, group]) => ({ suffix, group }))
      .sort((a, b) => b.suffix.length - a.suffix.length);
    for (const g of [this.#anyHost, ...this.#exactHosts.values(), ...wildcardGroups.values()]) {
      // stable sort keeps config order among equal lengths
      g.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
    }
  }

  /** `host` must be lower-case without port; `path` without the query string. */
  match(host: string, path: string, method: string, header: HeaderGetter): R | undefined {
    const exact = this.#exactHosts.get(host);
    if (exact) {
      const r = matchGroup(exact, path, method, header);
      if (r !== undefined) return r;
    }
    for (let i = 0; i < this.#wildcards.length; i++) {
      const w = this.#wildcards[i]!;
      if (host.length > w.suffix.length && host.endsWith(w.suffix)) {
        const r = matchGroup(w.group, path, method, header);
        if (r !== undefined) return r;
      }
    }
    return matchGroup(this.#anyHost, path, method, header);
  }
}

function newGroup<R>(): HostGroup<R> {
  return { exact: new Map(), regexes: [], prefixes: [] };
}

function addToGroup<R>(g: HostGroup<R>, config: RouteConfig, candidate: RouteCandidate<R>): void {
  const p = config.match.path ?? { prefix: '/' };
  if ('exact' in p) {
    let list = g.exact.get(p.exact);
    if (!list) g.exact.set(p.exact, (list = []));
    list.push(candidate);
  } else if ('regex' in p) {
    g.regexes.push({ regex: new RegExp(`^(?:${p.regex})$`), candidate });
  } else {
    g.prefixes.push({ prefix: p.prefix, candidate });
  }
}

function matchGroup<R>(g: HostGroup<R>, path: string, method: string, header: HeaderGetter): R | undefined {
  const exact = g.exact.get(path);
  if (exact) {
    for (const c of exact) if (accepts(c, method, header)) return c.route;
  }
  for (const { regex, candidate } of g.regexes) {
    if (regex.test(path) && accepts(candidate, method, header)) return candidate.route;
  }
  for (const { prefix, candidate } of g.prefixes) {
    if (path.startsWith(prefix) && accepts(candidate, method, header)) return candidate.route;
  }
  return undefined;
}

function accepts<R>(c: RouteCandidate<R>, method: string, header: HeaderGetter): boolean {
  if (c.methods !== null && !c.methods.has(method)) return false;
  for (let i = 0; i < c.headers.length; i++) {
    const h = c.headers[i]!;
    if (!h.test(header(h.name))) return false;
  }
  return true;
}

function compileHeaderMatch(m: NonNullable<RouteConfig['match']['headers']>[number]): CompiledHeaderMatch {
  const name = m.name.toLowerCase();
  let test: (v: string | undefined) => boolean;
  if (m.exact !== undefined) {
    const want = m.exact;
    test = (v) => v === want;
  } else if (m.prefix !== undefined) {
    const want = m.prefix;
    test = (v) => v !== undefined && v.startsWith(want);
  } else if (m.regex !== undefined) {
    const re = new RegExp(`^(?:${m.regex})$`);
    test = (v) => v !== undefined && re.test(v);
  } else {
    const want = m.present ?? HEADER_MATCH.present;
    test = (v) => (v !== undefined) === want;
  }
  if (m.invert) {
    const inner = test;
    test = (v) => !inner(v);
  }
  return { name, test };
}
