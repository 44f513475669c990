export { RouteRateLimiter, REFUSED, type RateLimitVerdict, type HeadRefusal } from './route-limiter.ts';
export { HeadRefusals, type HeadRouting } from './head-refusal.ts';
export { RateLimitStates, LimitCounters } from './counters.ts';
export { takeToken, type BucketPolicy, type BucketDecision } from './bucket.ts';
export { type RateLimitSubject, clientAddress } from './key.ts';
