// Turns the server's traffic samples (per interval: route → cluster →
// [requests, 5xx]) into what the routes view draws: each cluster's share of the
// route's requests and its error rate, per sample and over the last minute.

/** Clusters of a route: its split first (in split order), then any that still had traffic after leaving it. */
export function routeClusters(route, samples) {
  const names = route.split.map((s) => s.cluster);
  for (const s of samples) for (const c of Object.keys(s.routes[route.name] ?? {})) if (!names.includes(c)) names.push(c);
  return names;
}

/** uPlot data arrays: [times, ...per cluster]; null where there is nothing to divide (no requests). */
export function routeSeries(samples, routeName, clusters) {
  const t = [];
  const share = clusters.map(() => []);
  const errors = clusters.map(() => []);
  const rps = [];
  for (const s of samples) {
    const r = s.routes[routeName] ?? {};
    const counts = clusters.map((c) => r[c] ?? [0, 0]);
    const total = counts.reduce((a, [q]) => a + q, 0);
    t.push(s.t / 1000);
    rps.push(total);
    counts.forEach(([q, e], i) => {
      share[i].push(total > 0 ? (100 * q) / total : null);
      errors[i].push(q > 0 ? (100 * e) / q : null);
    });
  }
  return { t, share, errors, rps };
}

/** Totals over the samples of the last `windowMs` (ending at the newest sample). */
export function recentTotals(samples, routeName, clusters, intervalMs, windowMs = 60_000) {
  const last = samples.at(-1);
  const from = last ? last.t - windowMs : 0;
  const recent = samples.filter((s) => s.t > from);
  const seconds = (recent.length * intervalMs) / 1000;
  const per = clusters.map((c) => {
    let requests = 0;
    let errors = 0;
    for (const s of recent) {
      const [q, e] = s.routes[routeName]?.[c] ?? [0, 0];
      requests += q;
      errors += e;
    }
    return { cluster: c, requests, errors };
  });
  const total = per.reduce((a, p) => a + p.requests, 0);
  return {
    seconds,
    total,
    clusters: per.map((p) => ({
      ...p,
      share: total > 0 ? (100 * p.requests) / total : null,
      errorRate: p.requests > 0 ? (100 * p.errors) / p.requests : null,
      rps: seconds > 0 ? p.requests / seconds : null,
    })),
  };
}
