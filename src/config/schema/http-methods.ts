import { Type } from '@sinclair/typebox';

/**
 * The request methods Node's HTTP parser (llhttp) accepts, common ones first:
 * a route can never see another method, so any other name in `methods` is a
 * typo (`GETT`) that would make the route silently unreachable. Fixed here
 * rather than read from `http.METHODS` so the exported schema does not
 * change with the Node version.
 */
export const HTTP_METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT',
  'ACL', 'BIND', 'CHECKOUT', 'COPY', 'LINK', 'LOCK', 'M-SEARCH', 'MERGE', 'MKACTIVITY', 'MKCALENDAR', 'MKCOL', 'MOVE',
  'NOTIFY', 'PROPFIND', 'PROPPATCH', 'PURGE', 'QUERY', 'REBIND', 'REPORT', 'SEARCH', 'SOURCE', 'SUBSCRIBE',
  'UNBIND', 'UNLINK', 'UNLOCK', 'UNSUBSCRIBE',
] as const;

export const HttpMethod = Type.Unsafe<(typeof HTTP_METHODS)[number]>({ type: 'string', enum: [...HTTP_METHODS], description: 'an HTTP request method, upper case' });
