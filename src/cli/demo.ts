import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, relative } from 'node:path';
import type { Server } from 'node:http';
import { checkConfigFile } from './check.ts';
import { createLogger } from '../util/logger.ts';
import { Gateway } from '../gateway.ts';
import { createDemoUpstream, listen, AttemptLog } from '../demo/upstream.ts';
import { serveUntilSignalled } from './run.ts';

const DEMO_UPSTREAMS = [
  { service: 'api', color: 'blue', port: 9101 },
  { service: 'api', color: 'blue', port: 9102 },
  { service: 'api', color: 'green', port: 9201 },
];

/** `edgeplane demo` / `npm start`: demo upstreams and a gateway on 127.0.0.1, with a banner of things to try. */
export async function demoCommand(args: string[]): Promise<number | void> {
  const { values } = parseArgs({ args, options: { 'ready-file': { type: 'string' }, config: { type: 'string' } } });
  const configPath = values.config ?? fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url));
  const checked = await checkConfigFile(configPath, { probePorts: true });
  if (!checked.config || checked.errors.length > 0) {
    console.error(`edgeplane demo: ${checked.file}: not started\n${checked.errors.join('\n')}`);
    return 1;
  }
  const config = checked.config;
  const logger = createLogger({ level: config.logging?.level ?? 'warn' });
  for (const w of checked.warnings) logger.warn(w);
  const upstreams: Server[] = [];
  const attempts = new AttemptLog();
  for (const u of DEMO_UPSTREAMS) {
    const server = createDemoUpstream({ ...u, attempts });
    await listen(server, u.port).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`demo upstream ${u.color} cannot listen on 127.0.0.1:${u.port}: ${err.code ?? err.message}`);
    });
    upstreams.push(server);
  }
  const gateway = await Gateway.start({ config, configPath, baseDir: dirname(configPath), logger });
  console.log(banner(config.admin?.token, invocation()));
  await serveUntilSignalled(gateway, values['ready-file'], {}, async () => {
    for (const s of upstreams) s.close();
  });
}

/** How to run this same CLI again from the current directory (for the banner's token line). */
function invocation(): string {
  const script = process.argv[1] ?? '';
  if (/[\\/](bin[\\/])?edgeplane$/.test(script)) return 'edgeplane';
  const rel = relative(process.cwd(), script) || script;
  return `node ${rel.endsWith('.ts') ? rel.replace(/^src[\\/]/, 'dist/').replace(/\.ts$/, '.js') : rel}`;
}

function banner(token: string | undefined, cli: string): string {
  const ca = relative(process.cwd(), fileURLToPath(new URL('../../certs-dev/ca.crt', import.meta.url))) || 'certs-dev/ca.crt';
  return `
edgeplane demo is running (all on 127.0.0.1)
  HTTP 8080 · HTTPS 8443 (h2) · admin 9901 · DNS 5353 · upstreams api-blue 9101 9102, api-green 9201

Try:
  curl -s -H 'Host: api.svc.plus' http://127.0.0.1:8080/hello            # blue ~90%, green ~10%
  curl -s -H 'Host: api.svc.plus' -H 'x-edge-cluster: api-green' http://127.0.0.1:8080/hello
  curl -s --cacert ${ca} --resolve api.svc.plus:8443:127.0.0.1 https://api.svc.plus:8443/hello --http2
  curl -s -c /tmp/ep.jar -b /tmp/ep.jar -H 'Host: sticky.svc.plus' http://127.0.0.1:8080/  # sticky by cookie
  curl -si -H 'Host: api.svc.plus' http://127.0.0.1:8080/flaky           # 1st attempt 503, retried on another endpoint: 200, x-demo-attempt: 2
  curl -s -H 'Host: secure.svc.plus' -H "Authorization: Bearer $(${cli} token --scope read)" http://127.0.0.1:8080/  # JWT (401 without)
  dig @127.0.0.1 -p 5353 api.svc.plus A
  curl -s http://127.0.0.1:9901/metrics | grep edgeplane_requests_total
  curl -s -H 'Authorization: Bearer ${token ?? '<admin token>'}' http://127.0.0.1:9901/v1/config
  open http://127.0.0.1:9901/ui                                          # the dashboard (asks for the admin token once)

Ctrl-C drains and stops.
`;
}
