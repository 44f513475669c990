import type { RouteConfig } from '../../config/schema/index.ts';
import type { RawIssue } from '../../config/issue.ts';
import { parseDuration } from '../../util/duration.ts';
import { describeKey } from './key.ts';

/** What the schema can't say about a route's `rateLimit`: names unique, claim keys only behind auth, a usable period. */
export function checkRateLimits(route: RouteConfig, base: (string | number)[]): RawIssue[] {
  const issues: RawIssue[] = [];
  const seen = new Set<string>();
  route.rateLimit?.forEach((r, j) => {
    const path = [...base, 'rateLimit', j];
    const name = r.name ?? describeKey(r.key);
    if (seen.has(name)) issues.push({ path, message: `two limits named "${name}" on one route: give one a name` });
    seen.add(name);
    if ('claim' in r.key && !route.auth) issues.push({ path: [...path, 'key', 'claim'], message: 'a claim key needs the route to authenticate (auth)' });
    if (parseDuration(r.per) <= 0) issues.push({ path: [...path, 'per'], message: 'the period must be longer than 0' });
  });
  return issues;
}
