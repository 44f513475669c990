/**
 * Entry point of a data-plane worker process (forked by the control process
 * through node:cluster; see control.ts). It waits for its first snapshot,
 * serves, and from then on only does what the control process tells it.
 *
 * Signals: SIGINT/SIGTERM/SIGHUP are ignored here (a terminal's Ctrl-C or a
 * service manager signals the whole process group): the control process
 * decides when workers drain. If the control process disappears (the IPC
 * channel closes), the worker exits at once rather than serve on unmanaged.
 */
import { collectProcessMetrics, registry } from '../metrics/registry.ts';
import { createLogger, type Logger } from '../util/logger.ts';
import { isEdgeplaneMessage, toWire, type FromWorker, type InitMessage, type ToWorker } from './messages.ts';
import { WorkerDataPlane } from './worker-plane.ts';
import { engineOf } from '../edge/http1/engine-pools.ts';
import { registerWorkerMetrics } from './worker-metrics.ts';

let plane: WorkerDataPlane | null = null;
let logger: Logger = createLogger();
let queue: Promise<void> = Promise.resolve();

function send(message: FromWorker): void {
  if (process.connected) process.send!(message);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => logger.debug({ signal }, 'worker: signals are handled by the control process'));
process.on('SIGUSR1', () => plane?.reopenLogs());
process.on('disconnect', () => {
  logger.warn('worker: control process gone, exiting');
  logger.flush?.();
  process.exit(0);
});

process.on('message', (message: unknown) => {
  if (!isEdgeplaneMessage(message)) return;
  const m = message as ToWorker;
  // Metrics requests are answered at once; everything else runs in arrival order.
  if (m.ep === 'metrics') {
    void registry.getMetricsAsJSON().then((metrics) => send({ ep: 'metrics', seq: m.seq, metrics: metrics as never }));
    return;
  }
  queue = queue.then(() => handle(m)).catch((err: unknown) => logger.error({ err }, 'worker: message handling failed'));
});

// Messages sent before this handler existed would be lost: the control process waits for this one.
send({ ep: 'hello' });

async function handle(m: ToWorker): Promise<void> {
  switch (m.ep) {
    case 'init':
      return init(m);
    case 'apply': {
      if (!plane) return;
      try {
        await plane.apply(m.snapshot, m.targets);
        send({ ep: 'applied', seq: m.seq, version: plane.version, addresses: plane.addresses() });
      } catch (err) {
        send({ ep: 'applied', seq: m.seq, version: plane.version, error: toWire(err) });
      }
      return;
    }
    case 'targets':
      plane?.directory.setTargets(m.targets);
      return;
    case 'removed':
      plane?.removed(m.endpoints);
      return;
    case 'regions':
      for (const [region, status] of m.regions) plane?.regionView.set(region, status);
      return;
    case 'drain': {
      const { unfinished } = plane ? await plane.drain(m.timeoutMs) : { unfinished: 0 };
      send({ ep: 'drained', unfinished });
      logger.flush?.();
      // Exit once the message is out: disconnect() flushes the IPC channel first.
      setTimeout(() => process.exit(0), 50).unref();
      process.disconnect();
      return;
    }
    default:
      return;
  }
}

async function init(m: InitMessage): Promise<void> {
  const config = m.snapshot.config;
  logger = createLogger({ level: config.logging?.level }).child({ worker: m.worker });
  collectProcessMetrics();
  plane = new WorkerDataPlane({
    logger,
    baseDir: m.baseDir,
    workers: m.workers,
    ticketKeys: Buffer.from(m.ticketKeys, 'base64'),
    sendOutcomes: (batch) => send({ ep: 'outcomes', batch }),
    engine: engineOf(config),
  });
  registerWorkerMetrics(m.worker, () => plane?.version ?? 0);
  for (const [region, status] of m.regions) plane.regionView.set(region, status);
  try {
    await plane.apply(m.snapshot, m.targets);
  } catch (err) {
    logger.error({ err }, 'worker: the first snapshot failed');
    send({ ep: 'init-failed', error: toWire(err) });
    logger.flush?.();
    setTimeout(() => process.exit(1), 50).unref();
    return;
  }
  // /v1/health in the control process shows breaker counters and in-flight requests summed over workers.
  let lastStats = '';
  setInterval(() => {
    if (!plane) return;
    const stats = plane.directory.stats();
    const text = JSON.stringify(stats);
    if (text === lastStats) return;
    lastStats = text;
    send({ ep: 'stats', stats });
  }, 1000).unref();
  logger.info({ version: m.snapshot.version, pid: process.pid }, 'worker serving');
  send({ ep: 'ready', version: m.snapshot.version, addresses: plane.addresses() });
}
