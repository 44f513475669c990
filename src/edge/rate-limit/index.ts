export { RouteRateLimiter, REFUSED, type RateLimitVerdict } from './route-limiter.ts';
export { RateLimitStates, LimitCounters, DEFAULT_MAX_KEYS } from './counters.ts';
export { takeToken, type BucketPolicy, type BucketDecision } from './bucket.ts';
export { type RateLimitSubject, clientAddress } from './key.ts';
