import type { UnitConfig } from '../config/schema/index.ts';
import { Unit, UnitTemplate, UnitRuntime, ContainerHealthCheck } from '../config/schema/units.ts';
import { defaultsOf } from '../config/schema/defaults.ts';
import { parseDuration } from '../util/duration.ts';

/**
 * A deployment unit's settings with every default applied, declared on the
 * schema fields (src/config/schema/units.ts). The orchestrator, the container
 * spec and the config cross-check (config/unit-check.ts) read them here.
 */

const UNIT = defaultsOf(Unit, ['readinessTimeout', 'drain']);
const TEMPLATE = defaultsOf(UnitTemplate, ['network', 'replicas', 'stopTimeout']);
const RUNTIME = defaultsOf(UnitRuntime, ['socket']);
const CHECK = defaultsOf(ContainerHealthCheck, ['interval', 'timeout', 'retries', 'startPeriod']);

export interface UnitOptions {
  network: string;
  replicas: number;
  /** The Engine API the unit's containers run on. */
  socket: string;
  /** As written (it is quoted in release reasons). */
  drain: string;
  drainMs: number;
  readinessTimeoutMs: number;
  stopTimeoutMs: number;
}

export function resolveUnit(u: UnitConfig): UnitOptions {
  const drain = u.drain ?? UNIT.drain;
  return {
    network: u.template.network ?? TEMPLATE.network,
    replicas: u.template.replicas ?? TEMPLATE.replicas,
    socket: u.runtime?.socket ?? RUNTIME.socket,
    drain,
    drainMs: parseDuration(drain),
    readinessTimeoutMs: parseDuration(u.readinessTimeout ?? UNIT.readinessTimeout),
    stopTimeoutMs: parseDuration(u.template.stopTimeout ?? TEMPLATE.stopTimeout),
  };
}

type ContainerCheckConfig = NonNullable<UnitConfig['template']['healthCheck']>;

export function resolveContainerHealthCheck(h: ContainerCheckConfig): { intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number } {
  return {
    intervalMs: parseDuration(h.interval ?? CHECK.interval),
    timeoutMs: parseDuration(h.timeout ?? CHECK.timeout),
    retries: h.retries ?? CHECK.retries,
    startPeriodMs: parseDuration(h.startPeriod ?? CHECK.startPeriod),
  };
}
