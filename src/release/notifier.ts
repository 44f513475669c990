import type { Logger } from '../util/logger.ts';
import { releaseMetrics } from './metrics.ts';
import type { GateReadings, ReleasePhase, SplitWeight, Strategy } from './model.ts';

/** The JSON body POSTed to a release's webhook on every transition. */
export interface ReleaseEvent {
  type: 'release.transition';
  /** ISO time of the transition. */
  at: string;
  release: { id: string; route: string; target: string; strategy: Strategy };
  from: ReleasePhase | null;
  phase: ReleasePhase;
  reason: string;
  /** The step in force: index into `plan`, -1 before the first shift. */
  step: { index: number; count: number; percent: number | null };
  /** The route's split the release last wrote (the split before the release until the first shift). */
  weights: SplitWeight[];
  /** The latest gate readings, when a window has been evaluated. */
  readings: GateReadings | null;
}

/** Sends one event; resolves when it was delivered, rejects with the reason otherwise. */
export type WebhookSender = (url: string, event: ReleaseEvent) => Promise<void>;

export const WEBHOOK_TIMEOUT_MS = 5000;

/** POSTs the event as JSON; a non-2xx answer counts as a failure. */
export const postJson: WebhookSender = async (url, event) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'edgeplane-release' },
    body: JSON.stringify(event),
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new Error(`answered ${res.status}`);
};

/**
 * Delivers release events to webhooks, in order per release, at most once:
 * a receiver that is down loses events (logged and counted in
 * edgeplane_release_webhook_failures_total) but never slows or blocks a
 * release, let alone a rollback.
 */
export class WebhookNotifier {
  readonly #send: WebhookSender;
  readonly #logger: Logger;
  readonly #tails = new Map<string, Promise<void>>();

  constructor(logger: Logger, send: WebhookSender = postJson) {
    this.#send = send;
    this.#logger = logger;
  }

  notify(url: string, event: ReleaseEvent): void {
    const key = event.release.id;
    const run = (this.#tails.get(key) ?? Promise.resolve())
      .then(() => this.#send(url, event))
      .catch((err: Error) => {
        releaseMetrics.webhookFailures.labels(event.release.route).inc();
        this.#logger.warn({ release: key, url, phase: event.phase, err: err.message }, 'release webhook not delivered');
      });
    this.#tails.set(key, run);
    void run.then(() => {
      if (this.#tails.get(key) === run) this.#tails.delete(key);
    });
  }

  /** Resolves when every event queued so far has been sent or given up on. */
  async flushed(): Promise<void> {
    await Promise.all([...this.#tails.values()]);
  }
}
