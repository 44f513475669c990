import type { Config } from './config/schema/index.ts';
import { Drain } from './config/schema/drain.ts';
import { defaultsOf } from './config/schema/defaults.ts';
import { parseDuration } from './util/duration.ts';

const DRAIN = defaultsOf(Drain, ['delay', 'timeout']);

/** `drain` in milliseconds, defaults declared on the schema fields (src/config/schema/drain.ts). */
export function resolveDrain(drain: Config['drain']): { delayMs: number; timeoutMs: number } {
  return {
    delayMs: parseDuration(drain?.delay ?? DRAIN.delay),
    timeoutMs: parseDuration(drain?.timeout ?? DRAIN.timeout),
  };
}
