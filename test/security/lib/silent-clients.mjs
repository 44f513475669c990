// Child process for load tests: opens `count` TCP connections to 127.0.0.1:`port`,
// sends nothing, and reports (JSON lines on stdout) once all are open and once
// the server has closed every one. Run through `sh -c 'ulimit -n N; exec node ...'`
// so the test runner's own fd limit does not matter.
import net from 'node:net';

const [port, count, concurrency = '100'] = process.argv.slice(2).map(Number);
const sockets = [];
let closedByServer = 0;
let failed = 0;
const started = Date.now();

function openOne() {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      sockets.push(s);
      s.resume();
      const onGone = () => {
        if (s.countedClosed) return;
        s.countedClosed = true;
        closedByServer++;
        s.destroy();
        if (closedByServer + failed === count) report('closed');
      };
      s.once('end', onGone);
      s.once('close', onGone);
      resolve();
    });
    s.once('error', () => {
      if (!sockets.includes(s)) {
        failed++;
        resolve();
      }
    });
  });
}

function report(event) {
  process.stdout.write(JSON.stringify({ event, opened: sockets.length, failed, closedByServer, ms: Date.now() - started }) + '\n');
}

let next = 0;
async function worker() {
  while (next < count) {
    next++;
    await openOne();
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
report('opened');
if (closedByServer + failed === count) report('closed');
process.on('SIGTERM', () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
