import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError, formatIssues } from '../util/errors.ts';

export async function validateCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length === 0) {
    console.error('usage: edgeplane validate FILE...');
    return 2;
  }
  let failed = false;
  for (const file of positionals) {
    try {
      loadConfigFile(file);
      console.log(`${file}: ok`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      failed = true;
      console.error(formatIssues(err.issues));
    }
  }
  return failed ? 1 : 0;
}
