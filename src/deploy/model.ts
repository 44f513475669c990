/**
 * A deploy: the containers of a unit's idle color started from a new image,
 * then a release of the route to that color, then the old color removed.
 *
 *   starting ──► readying ──► releasing ──► retiring ──► succeeded
 *      │            │             │
 *      └────────────┴─────────────┴──► cleaning ──► rolled_back | aborted | failed
 *
 * Each phase is persisted before its side effects, and every step is
 * idempotent, so a restarted gateway carries on from the stored phase.
 */
export type DeployPhase = 'starting' | 'readying' | 'releasing' | 'retiring' | 'cleaning' | 'succeeded' | 'rolled_back' | 'aborted' | 'failed';
export type DeployOutcome = 'succeeded' | 'rolled_back' | 'aborted' | 'failed';

export const ACTIVE_DEPLOY_PHASES: readonly DeployPhase[] = ['starting', 'readying', 'releasing', 'retiring', 'cleaning'];

export function isActiveDeploy(phase: DeployPhase): boolean {
  return ACTIVE_DEPLOY_PHASES.includes(phase);
}

export interface ColorRef {
  color: string;
  cluster: string;
}

export interface DeployRecord {
  id: string;
  unit: string;
  route: string;
  image: string;
  strategy: 'blue-green' | 'canary';
  /** The color serving when the deploy started, and the one it starts. */
  from: ColorRef;
  to: ColorRef;
  replicas: number;
  /** The body handed to the release controller once the new color is ready. */
  releaseBody: Record<string, unknown>;
  phase: DeployPhase;
  reason: string;
  /** While cleaning: the phase it ends in. */
  outcome: DeployOutcome | null;
  releaseId: string | null;
  /** The new color's containers (ids), as created. */
  containers: { id: string; name: string }[];
  author: string;
  createdAt: string;
  updatedAt: string;
  /** Wall-clock ms by which the new color must be ready. */
  readyBy: number;
  /** Milliseconds from the start to each step, for the operator and the docs' timings. */
  timings: Record<string, number>;
  history: { at: string; phase: DeployPhase; reason: string }[];
}

export interface PersistedDeploys {
  format: 1;
  nextId: number;
  deploys: DeployRecord[];
}

/** Finished deploys kept in the document (running ones are always kept). */
export const KEEP_FINISHED_DEPLOYS = 20;

export function parseDeploys(value: unknown): PersistedDeploys {
  const v = value as PersistedDeploys;
  if (!v || typeof v !== 'object' || v.format !== 1 || !Number.isInteger(v.nextId) || !Array.isArray(v.deploys)) throw new Error('not a deploys document (format 1)');
  for (const d of v.deploys) {
    if (!d || typeof d.id !== 'string' || typeof d.unit !== 'string' || typeof d.phase !== 'string' || !Array.isArray(d.history)) throw new Error('a deploy record is malformed');
  }
  return v;
}
