import type { IncomingHttpHeaders } from 'node:http';
import type { RouteConfig } from '../config/schema/index.ts';

/** What the proxy needs from an authenticator (src/edge/jwt implements it). */
export type AuthOutcome =
  | { ok: true; setHeaders: [name: string, value: string][]; removeHeaders: string[]; url?: string; /** the verified token's payload (rate-limit keys, access log) */ claims?: Readonly<Record<string, unknown>> }
  | { ok: false; status: 401 | 403; headers: Record<string, string>; body: string };

/**
 * The request's fields as an authenticator reads them: the request itself
 * (raw field list plus node:http's header object, which the native engine
 * builds only when read) or, as before, a header object.
 */
export type AuthHeaders = IncomingHttpHeaders | { readonly rawHeaders: readonly string[]; readonly headers: IncomingHttpHeaders };

export interface RequestAuthenticator<R = unknown> {
  compile(auth: RouteConfig['auth']): R;
  /** `from`: where to look for tokens instead of the providers' own locations (a route's WebSocket `tokenFrom`, compiled by compileTokenLocations). */
  authenticate(requirement: R, headers: AuthHeaders, url: string, from?: readonly unknown[]): AuthOutcome | Promise<AuthOutcome>;
  /** Headers the authenticator derives from tokens; routes without `auth` strip client-sent copies so they can't be spoofed. */
  protectedHeaders?(): readonly string[];
}
