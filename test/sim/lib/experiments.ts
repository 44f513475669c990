import { randomInt } from '../../../src/util/rng.ts';
import type { ProtocolConfig } from '../../../src/gossip/config.ts';
import { SimCluster } from './cluster.ts';

/**
 * The simulation experiments behind test/sim and bench/scenarios/gossip.ts.
 * Each builds a SimCluster (the production GossipAgent over an in-memory
 * network on a virtual clock with a seeded Rng) and measures protocol
 * outcomes in virtual time. Deterministic for a given seed.
 */

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** SWIM's expected protocol periods to first detection: 1 / (1 - (1 - 1/n)^(n-1)). */
export function swimExpectedFirstDetection(n: number): number {
  return 1 / (1 - Math.pow(1 - 1 / n, n - 1));
}

export interface FirstSuspicionResult {
  n: number;
  samples: number;
  /** Mean protocol periods from crash to the period whose probe first suspected the member. */
  mean: number;
  stderr: number;
  expected: number;
  histogram: Record<number, number>;
  /** Deaths of members that were not crashed (must be 0). */
  falseDeaths: number;
}

/**
 * Crashes `victims` random members at a random phase, records when anyone
 * first suspects each, then restarts them (a fresh process that refutes) and
 * waits until nobody suspects anyone before the next trial.
 *
 * Periods are counted the SWIM way: the first probe period after the crash is
 * 1; a suspicion raised at time ts came from a probe that started one
 * ProbeInterval earlier (the prober waits a whole interval for indirect acks),
 * so its period is ceil((ts - t0) / T) - 1.
 */
export function firstSuspicion(opts: { n: number; trials: number; victims: number; seed: number; protocol?: Partial<ProtocolConfig> }): FirstSuspicionResult {
  const c = new SimCluster({ n: opts.n, seed: opts.seed, protocol: { PushPullInterval: 0, ...opts.protocol } });
  const T = c.agents[0]!.config.ProbeInterval;
  const isBad = (s: string | undefined) => s === 'suspect' || s === 'dead' || s === 'left';
  const bad = new Map<number, number>();
  const firstAt = new Map<string, number>();
  const crashed = new Set<string>();
  let falseDeaths = 0;
  c.onEvent((o, e) => {
    if (e.kind !== 'member') return;
    let b = bad.get(o) ?? 0;
    if (isBad(e.previous) && !isBad(e.member.state)) b--;
    if (!isBad(e.previous) && isBad(e.member.state)) b++;
    bad.set(o, b);
    if (e.member.state === 'dead' && !crashed.has(e.member.name)) falseDeaths++;
    if (e.member.state === 'suspect' && !firstAt.has(e.member.name)) firstAt.set(e.member.name, c.clock.now());
  });
  const totalBad = () => {
    let t = 0;
    for (const v of bad.values()) t += v;
    return t;
  };
  c.run(5 * T);
  const samples: number[] = [];
  for (let t = 0; t < opts.trials; t++) {
    c.run(c.rng.next() * T);
    const victims = new Set<number>();
    while (victims.size < opts.victims) victims.add(randomInt(c.rng, opts.n));
    firstAt.clear();
    crashed.clear();
    const t0 = c.clock.now();
    for (const v of victims) {
      crashed.add(c.names[v]!);
      c.crash(v);
    }
    for (let guard = 0; [...victims].some((v) => !firstAt.has(c.names[v]!)) && guard < 1000; guard++) c.run(T / 10);
    for (const v of victims) {
      const ts = firstAt.get(c.names[v]!);
      if (ts === undefined) throw new Error(`member ${v} was never suspected`);
      samples.push(Math.max(1, Math.ceil((ts - t0) / T) - 1));
      let seed = randomInt(c.rng, opts.n);
      while (victims.has(seed)) seed = randomInt(c.rng, opts.n);
      bad.set(v, 0);
      c.restart(v, seed, 'copy');
    }
    // Next trial from a steady state: nobody suspected, nobody doubting itself
    // (a restarted member refuted, which raised its Lifeguard score: it probes
    // at half rate until successful probes bring the score back to 0).
    for (let guard = 0; (totalBad() > 0 || c.agents.some((a) => a.awarenessScore() > 0)) && guard < 1000; guard++) c.run(T / 10);
    crashed.clear();
  }
  const m = mean(samples);
  const sd = Math.sqrt(samples.reduce((a, x) => a + (x - m) ** 2, 0) / (samples.length - 1));
  const histogram: Record<number, number> = {};
  for (const s of samples) histogram[s] = (histogram[s] ?? 0) + 1;
  for (const a of c.agents) void a.close();
  return { n: opts.n, samples: samples.length, mean: m, stderr: sd / Math.sqrt(samples.length), expected: swimExpectedFirstDetection(opts.n), histogram, falseDeaths };
}

export interface DisseminationResult {
  n: number;
  updates: number;
  /** Updates that reached every live member. */
  complete: number;
  /** Per (update, member) latencies, sorted, in ms. */
  latencies: number[];
  gossipInterval: number;
  probeInterval: number;
  p50: number;
  p99: number;
  max: number;
  /** Bytes per second per member sent during the run (datagrams and streams). */
  bytesPerMemberPerSec: number;
}

/**
 * Health updates from random members, one every `spacing` ms: for each,
 * the time until every other member holds that version.
 */
export function dissemination(opts: { n: number; updates: number; seed: number; spacing?: number; loss?: number; protocol?: Partial<ProtocolConfig> }): DisseminationResult {
  const c = new SimCluster({ n: opts.n, seed: opts.seed, loss: opts.loss ?? 0, protocol: opts.protocol ?? {} });
  const cfg = c.agents[0]!.config;
  const spacing = opts.spacing ?? 10 * cfg.ProbeInterval;
  c.run(3 * cfg.ProbeInterval);
  const pending = new Map<string, { start: number; version: number; got: Set<number> }>();
  const latencies: number[] = [];
  let complete = 0;
  c.onEvent((o, e) => {
    if (e.kind !== 'health') return;
    const p = pending.get(e.node);
    if (!p || e.version !== p.version || p.got.has(o)) return;
    p.got.add(o);
    latencies.push(c.clock.now() - p.start);
  });
  c.net.resetStats();
  const t0 = c.clock.now();
  for (let u = 0; u < opts.updates; u++) {
    const src = randomInt(c.rng, opts.n);
    const agent = c.agents[src]!;
    const rec = { start: c.clock.now(), version: 0, got: new Set<number>([src]) };
    pending.set(agent.name, rec);
    agent.setLocalHealth({ state: 'up', healthy: (u % 10) / 10, names: { 'api.svc.plus': 1 }, at: c.clock.wallNow() });
    rec.version = agent.healthOf(agent.name)!.version;
    c.run(spacing);
    if (rec.got.size === opts.n) complete++;
    pending.delete(agent.name);
  }
  const elapsed = (c.clock.now() - t0) / 1000;
  const bytes = c.net.totals.bytes + c.net.totals.streamBytes;
  latencies.sort((a, b) => a - b);
  for (const a of c.agents) void a.close();
  return {
    n: opts.n,
    updates: opts.updates,
    complete,
    latencies,
    gossipInterval: cfg.GossipInterval,
    probeInterval: cfg.ProbeInterval,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? NaN,
    bytesPerMemberPerSec: bytes / opts.n / elapsed,
  };
}

/** Datagrams sent per member per probe period in a steady cluster (nothing changing). */
export function messagesPerPeriod(opts: { n: number; periods: number; seed: number; protocol?: Partial<ProtocolConfig> }): { n: number; perMemberPerPeriod: number; min: number; max: number; bytesPerMemberPerSec: number } {
  const c = new SimCluster({ n: opts.n, seed: opts.seed, protocol: opts.protocol ?? {} });
  const T = c.agents[0]!.config.ProbeInterval;
  c.run(3 * T);
  c.net.resetStats();
  c.run(opts.periods * T);
  const per = c.addrs.map((a) => (c.net.stats.get(a)?.packets ?? 0) / opts.periods);
  const total = c.net.totals.packets / opts.n / opts.periods;
  const bytes = (c.net.totals.bytes + c.net.totals.streamBytes) / opts.n / ((opts.periods * T) / 1000);
  for (const a of c.agents) void a.close();
  return { n: opts.n, perMemberPerPeriod: total, min: Math.min(...per), max: Math.max(...per), bytesPerMemberPerSec: bytes };
}

export interface FalseDeathResult {
  /** (observer, member) pairs where a healthy member was marked dead. */
  falseDeathViews: number;
  /** Distinct (member, incarnation) deaths of healthy members. */
  falseDeaths: number;
  suspicions: number;
  refutes: number;
  /** Deaths of the stalled member itself (it was unresponsive; not false). */
  stalledDeaths?: number;
}

/** A long run with uniform packet loss on every link; counts healthy members declared dead. */
export function lossyRun(opts: { n: number; loss: number; duration: number; seed: number; protocol?: Partial<ProtocolConfig> }): FalseDeathResult {
  const c = new SimCluster({ n: opts.n, seed: opts.seed, loss: opts.loss, protocol: opts.protocol ?? {} });
  const deaths = new Set<string>();
  let views = 0;
  let suspicions = 0;
  c.onEvent((_o, e) => {
    if (e.kind !== 'member') return;
    if (e.member.state === 'dead') {
      views++;
      deaths.add(`${e.member.name}@${e.member.incarnation}`);
    }
    if (e.member.state === 'suspect') suspicions++;
  });
  c.run(opts.duration);
  const refutes = c.agents.reduce((s, a) => s + a.stats.refutes, 0);
  for (const a of c.agents) void a.close();
  return { falseDeathViews: views, falseDeaths: deaths.size, suspicions, refutes };
}

/**
 * Member 0's message handling stalls for `stallMs` (its inbound datagrams
 * queue up and are handled when the stall ends, while its timers keep firing,
 * as when memberlist's packet handler blocks), `trials` times with
 * `recoverMs` between. With `delay`, each inbound message is instead handled
 * `delay` ms late during the stall. Counts deaths of the other, healthy members.
 */
export function stallRun(opts: { n: number; seed: number; lifeguard: boolean; trials: number; stallMs: number; recoverMs: number; delay?: number }): FalseDeathResult {
  const c = new SimCluster({ n: opts.n, seed: opts.seed, protocol: { Lifeguard: opts.lifeguard } });
  const S = c.names[0]!;
  const deaths = new Set<string>();
  let views = 0;
  let stalledDeaths = 0;
  let suspicions = 0;
  c.onEvent((_o, e) => {
    if (e.kind !== 'member') return;
    if (e.member.state === 'suspect') suspicions++;
    if (e.member.state !== 'dead') return;
    if (e.member.name === S) stalledDeaths++;
    else {
      views++;
      deaths.add(`${e.member.name}@${e.member.incarnation}`);
    }
  });
  const T = c.agents[0]!.config.ProbeInterval;
  c.run(10 * T);
  for (let t = 0; t < opts.trials; t++) {
    c.net.stallInbound(c.addrs[0]!, true, opts.delay);
    c.run(opts.stallMs);
    c.net.stallInbound(c.addrs[0]!, false);
    c.run(opts.recoverMs);
  }
  const refutes = c.agents.reduce((s, a) => s + a.stats.refutes, 0);
  for (const a of c.agents) void a.close();
  return { falseDeathViews: views, falseDeaths: deaths.size, suspicions, refutes, stalledDeaths };
}

/**
 * serf's convergence model (the mean-field push gossip of its convergence
 * simulator): each infected member gossips to `fanout` random members per
 * interval, each message lost with probability `loss`. Returns the fraction
 * infected after each interval.
 */
export function serfModel(n: number, fanout: number, loss: number, intervals: number): number[] {
  let infected = 1;
  const out: number[] = [infected / n];
  for (let i = 0; i < intervals; i++) {
    const pContact = (fanout * (1 - loss)) / n;
    infected += (n - infected) * (1 - Math.pow(1 - pContact, infected));
    out.push(Math.min(1, infected / n));
  }
  return out;
}

/** Intervals until the serf model reaches `fraction` of the members. */
export function serfIntervalsTo(n: number, fanout: number, loss: number, fraction: number): number {
  const curve = serfModel(n, fanout, loss, 200);
  const i = curve.findIndex((f) => f >= fraction);
  return i < 0 ? Infinity : i;
}
