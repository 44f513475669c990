import { parseArgs } from 'node:util';
import { checkConfigFile } from './check.ts';
import { USAGES } from './usage.ts';

/**
 * `edgeplane validate FILE...`: the checks `run` makes before it binds
 * anything (see check.ts), so a file that validates is a file that starts —
 * short of a port another process holds at that moment.
 */
export async function validateCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length === 0) {
    console.error(`edgeplane validate: no FILE given\n\n${USAGES.validate}`);
    return 2;
  }
  let failed = false;
  for (const path of positionals) {
    const checked = await checkConfigFile(path);
    for (const w of checked.warnings) console.error(w);
    if (checked.errors.length > 0) {
      failed = true;
      for (const e of checked.errors) console.error(e);
    } else {
      console.log(`${checked.file}: ok${checked.warnings.length > 0 ? ` (${checked.warnings.length} warning${checked.warnings.length > 1 ? 's' : ''})` : ''}`);
    }
  }
  return failed ? 1 : 0;
}
