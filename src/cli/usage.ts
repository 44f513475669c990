/**
 * The one CLI convention: every subcommand answers `--help`/`-h` with its
 * usage on stdout (exit 0); an unknown command or option, or a missing
 * argument, prints the usage on stderr (exit 2); a failed operation exits 1.
 * Commands that parse their own `--help` (token, release, fleet, ...) keep
 * their usage beside their code; the others have it here, where the
 * dispatcher in cli.ts answers `--help` before the command parses anything.
 */

import { USAGE as DNSSEC_USAGE } from './dnssec.ts';
import { USAGE as STORE_USAGE } from './store.ts';

export const EXIT_CODES = `Exit status (every command):
  0  done (and --help)
  1  the operation failed: an invalid config, a gateway that could not start, a refused admin request
  2  usage error: unknown command or option, missing argument`;

export const USAGES: Record<string, string> = {
  run: `usage: edgeplane run --config FILE [--watch] [--ready-file FILE]     start a gateway

  -c, --config FILE    the config file (YAML or JSON); SIGHUP reloads it
  --watch              re-read the file when it changes (debounced; watch: true in the file does the same)
  --ready-file FILE    once serving, write the bound addresses here as JSON (atomically)
  -h, --help           this help

Before anything binds, the config goes through the same checks as
\`edgeplane validate\` (files, certificates, state directory, admin port);
a refused start leaves nothing bound and nothing persisted.
SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the file (a bad file is rejected, the old config keeps serving).`,
  validate: `usage: edgeplane validate FILE...     check config files as \`run\` would, short of binding sockets

Checks the schema and references, then what a start needs: certificate and
key files readable, parsing and matching, covering the listener's names;
JWKS and discovery files readable; the state directory creatable.
Prints "FILE: ok" or one "FILE: path (line N): message" line per problem.

  -h, --help           this help`,
  demo: `usage: edgeplane demo [--config FILE] [--ready-file FILE]     the demo on 127.0.0.1

Starts the demo upstreams (api-blue 9101 9102, api-green 9201) and a gateway
with examples/demo.yaml: HTTP 8080, HTTPS 8443, admin 9901, DNS 5353.

  --config FILE        another demo config (default examples/demo.yaml)
  --ready-file FILE    once serving, write the bound addresses here as JSON
  -h, --help           this help`,
  schema: `usage: edgeplane schema     print the config JSON Schema (schema/edgeplane.schema.json) on stdout

  -h, --help           this help`,
  // dnssec keeps its usage beside its code; the dispatcher answers its --help.
  dnssec: DNSSEC_USAGE,
  store: STORE_USAGE,
  config: `usage: edgeplane config export --config FILE [--state-dir DIR] [--output FILE]

  export               print the effective config (the file, or the persisted admin
                       changes when newer) as YAML with version: set, for GitOps
  -c, --config FILE    the config file
  --state-dir DIR      the state directory (default: admin.stateDir of the file)
  -o, --output FILE    write there (atomically) instead of stdout
  -h, --help           this help`,
};

/** True when `--help`/`-h` appears before a `--` terminator. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** parseArgs' own errors (unknown option, missing value, unexpected positional) are usage errors. */
export function isUsageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
