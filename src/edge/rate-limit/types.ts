import type { RouteConfig } from '../../config/schema/index.ts';

export type RateLimitRuleConfig = NonNullable<RouteConfig['rateLimit']>[number];
