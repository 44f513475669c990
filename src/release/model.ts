/**
 * The release model: what is persisted about a release and which phase may
 * follow which. Phase names follow Flagger/Argo Rollouts where they mean the
 * same thing.
 *
 *   waiting ──► progressing ──► progressing (next step) ──► promoting ──► succeeded
 *      │  ▲          │  ▲                                       │
 *      ▼  │          ▼  │                                       ▼
 *      paused ◄──────┘  └── resume (window restarted)       (retried)
 *      │
 *   any active phase ──► rolling_back ──► rolled_back (gate, readiness timeout) | aborted (operator)
 *   any active phase ──► failed (the route or its split is no longer the release's; split left alone)
 */

export type Strategy = 'blue-green' | 'canary';

export type ActivePhase = 'waiting' | 'progressing' | 'paused' | 'promoting' | 'rolling_back';
export type TerminalPhase = 'succeeded' | 'rolled_back' | 'aborted' | 'failed';
export type ReleasePhase = ActivePhase | TerminalPhase;

export const ACTIVE_PHASES: readonly ActivePhase[] = ['waiting', 'progressing', 'paused', 'promoting', 'rolling_back'];
export const TERMINAL_PHASES: readonly TerminalPhase[] = ['succeeded', 'rolled_back', 'aborted', 'failed'];
export const PHASES: readonly ReleasePhase[] = [...ACTIVE_PHASES, ...TERMINAL_PHASES];

/** Which phases may follow each phase. Anything else is a bug, and throws. */
const NEXT: Record<ReleasePhase, readonly ReleasePhase[]> = {
  waiting: ['progressing', 'paused', 'rolling_back', 'failed'],
  progressing: ['progressing', 'paused', 'promoting', 'rolling_back', 'failed'],
  paused: ['waiting', 'progressing', 'promoting', 'rolling_back', 'failed'],
  promoting: ['succeeded', 'paused', 'rolling_back', 'failed'],
  rolling_back: ['rolled_back', 'aborted', 'failed'],
  succeeded: [],
  rolled_back: [],
  aborted: [],
  failed: [],
};

export function isActive(phase: ReleasePhase): phase is ActivePhase {
  return (ACTIVE_PHASES as readonly string[]).includes(phase);
}

export function canTransition(from: ReleasePhase, to: ReleasePhase): boolean {
  return NEXT[from].includes(to);
}

export function assertTransition(id: string, from: ReleasePhase, to: ReleasePhase): void {
  if (!canTransition(from, to)) throw new Error(`release ${id}: illegal transition ${from} -> ${to}`);
}

export interface SplitWeight {
  cluster: string;
  weight: number;
}

/** The thresholds a window must meet; percent and milliseconds, resolved once at start. */
export interface GateThresholds {
  /** Highest acceptable share of 5xx answers (the gateway's own 502/503/504 for local failures included), in percent. */
  maxErrorRate: number;
  /** Highest acceptable p99 latency of the target's answers, in milliseconds. */
  maxP99Ms: number;
  /** Outlier ejections of the target's endpoints tolerated in one window. */
  maxEjections: number;
  /** Requests the target must answer in a window before any verdict: no promotion on zero traffic. */
  minRequests: number;
}

/** A validated start request. Serialisable: it is persisted as is. */
export interface ReleaseSpec {
  route: string;
  target: string;
  strategy: Strategy;
  /** Target shares in percent, strictly increasing, as requested (blue-green: [100]). */
  steps: number[];
  stepDurationMs: number;
  /** blue-green: the window at 100%; canary: when set, the hold of the last step. */
  observeMs: number | null;
  /** How often the gates are evaluated within a window. */
  intervalMs: number;
  readinessTimeoutMs: number;
  gates: GateThresholds;
  webhook: string | null;
  /** After a gateway restart: carry on (window restarted) or stay paused until resumed. */
  onRestart: 'resume' | 'pause';
}

/** The measurements of one window so far and the verdict on them. */
export interface GateReadings {
  /** ISO time of the reading. */
  at: string;
  /** Milliseconds of the window covered. */
  windowElapsedMs: number;
  requests: number;
  errors: number;
  /** Percent, null before the first request. */
  errorRate: number | null;
  /** Milliseconds, null before the first request. */
  p99Ms: number | null;
  ejections: number;
  /** Upstream attempts to the target that failed locally (connect, reset, timeout): shown, not gated (their answers are already 5xx). */
  localFailures: number;
  ready: boolean;
  healthy: number;
  total: number;
  verdict: 'pending' | 'pass' | 'fail' | 'inconclusive';
  /** Each gate's value against its threshold. */
  gates: { gate: string; value: number | null; threshold: number; ok: boolean | null }[];
  /** Why, when the verdict is fail or inconclusive. */
  reason: string | null;
}

export interface HistoryEntry {
  at: string;
  phase: ReleasePhase;
  /** Index into `plan`, -1 before the first shift. */
  step: number;
  /** The route's split the release wrote in this transition, when it wrote one. */
  weights?: SplitWeight[];
  /** The config version of that write. */
  version?: number;
  reason: string;
  /** In a fleet: the node that drove this transition (a takeover shows as a change of driver). */
  driver?: string;
}

export interface ReleaseRecord {
  id: string;
  spec: ReleaseSpec;
  /** The route's split before the release: what a rollback restores, exactly. */
  originalSplit: SplitWeight[];
  /** The target shares this release moves through, after dropping steps at or below the target's share at start. */
  plan: number[];
  /** Requested steps that were dropped for that reason. */
  skippedSteps: number[];
  phase: ReleasePhase;
  /** Why the release is in its phase, in words. */
  reason: string;
  /** Index into `plan`; -1 while waiting for the target's readiness. */
  step: number;
  /** The phase to go back to on resume. */
  pausedFrom: 'waiting' | 'progressing' | null;
  /** While rolling back: the phase it ends in. */
  rollbackTo: 'rolled_back' | 'aborted' | null;
  author: string;
  createdAt: string;
  updatedAt: string;
  /** The current window, when progressing. */
  window: { startedAt: string; durationMs: number } | null;
  readings: GateReadings | null;
  /** Config versions this release wrote, oldest first. */
  versions: number[];
  history: HistoryEntry[];
}
