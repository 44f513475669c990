#!/usr/bin/env node
import { runCommand } from './cli/run.ts';
import { validateCommand } from './cli/validate.ts';
import { demoCommand } from './cli/demo.ts';
import { schemaCommand } from './cli/schema.ts';
import { configCommand } from './cli/config.ts';
import { tokenCommand } from './cli/token.ts';
import { releaseCommand } from './cli/release.ts';
import { fleetCommand } from './cli/fleet.ts';
import { dnssecCommand } from './cli/dnssec.ts';
import { storeCommand } from './cli/store.ts';

type Command = (args: string[]) => Promise<number | void>;

/** Each subcommand lives in src/cli/<name>.ts and returns the exit code (or keeps running). */
const commands: Record<string, { run: Command; help: string }> = {
  run: { run: runCommand, help: 'run --config FILE [--ready-file FILE]   start a gateway' },
  validate: { run: validateCommand, help: 'validate FILE                           check a config file (exit 1 with path (line N): message)' },
  demo: { run: demoCommand, help: 'demo [--ready-file FILE]                gateway + DNS + admin + demo upstreams on 127.0.0.1' },
  schema: { run: schemaCommand, help: 'schema                                  print the config JSON Schema' },
  config: { run: configCommand, help: 'config export --config FILE [--state-dir DIR] [--output FILE]   print the effective config (GitOps)' },
  token: { run: (args) => tokenCommand(args), help: 'token [--sub S] [--aud A] [--scope S]   mint a development JWT for the demo (see --help)' },
  release: { run: (args) => releaseCommand(args), help: 'release start|status|promote|abort|pause|resume   blue/green and canary releases over the admin API (see --help)' },
  fleet: { run: (args) => fleetCommand(args), help: 'fleet [--admin URL] [--token T] [--json]   gossip members, region states and DNS weights (GET /v1/fleet)' },
  dnssec: { run: (args) => dnssecCommand(args), help: 'dnssec keygen|ds   DNSSEC key files and the DS for the parent zone (see docs/dns.md)' },
  store: { run: (args) => storeCommand(args), help: 'store import|export --config FILE        move a config between a file and the etcd store (see --help)' },
};

function usage(): string {
  return ['usage: edgeplane <command> [options]', '', ...Object.values(commands).map((c) => `  ${c.help}`)].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    console.log(usage());
    process.exitCode = name ? 0 : 2;
    return;
  }
  const command = commands[name];
  if (!command) {
    console.error(`edgeplane: unknown command "${name}"\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  const code = await command.run(rest);
  if (typeof code === 'number') process.exitCode = code;
}

main(process.argv.slice(2)).catch((err: Error & { code?: string }) => {
  console.error(`edgeplane: ${err.message}`);
  process.exitCode = 1;
});
