import { Type } from '@sinclair/typebox';
import { Obj, Duration } from './common.ts';

/** `drain`: graceful shutdown (SIGTERM) and the drain of a replaced process. */
export const Drain = Obj({
  delay: Type.Optional(Duration('how long /readyz reports 503 before listeners close', '5s')),
  timeout: Type.Optional(Duration('how long in-flight requests may take to finish', '30s')),
});
