import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cliPath, repoRoot } from '../../helpers/gateway-process.ts';

interface Result { code: number; stdout: string; stderr: string }

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', cliPath, ...args], { cwd: repoRoot, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The commands `edgeplane --help` lists (so a new command is covered without touching this test). */
async function listedCommands(): Promise<string[]> {
  const top = await cli('--help');
  assert.equal(top.code, 0);
  return [...top.stdout.matchAll(/^ {2}([a-z][a-z-]*) /gm)].map((m) => m[1]!).filter((c) => c !== 'usage');
}

test('edgeplane --help lists the commands and documents the exit codes; edgeplane alone is help (exit 0)', async () => {
  const [help, bare] = await Promise.all([cli('--help'), cli()]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit status/);
  assert.match(help.stdout, /^ {2}0 /m);
  assert.match(help.stdout, /^ {2}1 /m);
  assert.match(help.stdout, /^ {2}2 {2}usage error/m);
  assert.equal(bare.code, 0);
  assert.equal(bare.stdout, help.stdout);
  const commands = await listedCommands();
  for (const c of ['run', 'validate', 'demo', 'schema', 'config', 'token', 'release', 'fleet']) assert.ok(commands.includes(c), `${c} listed`);
});

test('every subcommand answers --help and -h with its usage on stdout, exit 0, without doing anything', async () => {
  const commands = await listedCommands();
  // -h is the same code path as --help: checked on one command that the dispatcher answers and one that answers itself.
  const runs = [...commands.map((c) => ({ c, flag: '--help' })), { c: 'run', flag: '-h' }, { c: 'token', flag: '-h' }];
  const results = [];
  for (let i = 0; i < runs.length; i += 3) {
    results.push(...(await Promise.all(runs.slice(i, i + 3).map(async ({ c, flag }) => ({ c, flag, r: await cli(c, flag) })))));
  }
  for (const { c, flag, r } of results) {
    assert.equal(r.code, 0, `${c} ${flag}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: edgeplane ${c}\\b`), `${c} ${flag} prints its usage`);
    // schema --help used to dump the whole schema; demo --help used to start the demo.
    assert.ok(r.stdout.length < 4000, `${c} ${flag} prints a usage, not output`);
    assert.doesNotMatch(r.stdout, /"\$schema"|edgeplane demo is running/);
  }
});

test('usage errors exit 2 with the command usage on stderr; a command group alone prints its usage (exit 0)', async () => {
  const [unknownOption, unknownCommand, configAlone, configUnknown, validateNoFile, releaseAlone] = await Promise.all([
    cli('run', '--bogus'),
    cli('frobnicate'),
    cli('config'),
    cli('config', 'import'),
    cli('validate'),
    cli('release'),
  ]);
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /Unknown option '--bogus'/);
  assert.match(unknownOption.stderr, /usage: edgeplane run/);
  assert.equal(unknownCommand.code, 2);
  assert.match(unknownCommand.stderr, /unknown command "frobnicate"/);
  assert.equal(configAlone.code, 0);
  assert.match(configAlone.stdout, /usage: edgeplane config export/);
  assert.equal(configUnknown.code, 2);
  assert.match(configUnknown.stderr, /unknown subcommand "import"/);
  assert.equal(validateNoFile.code, 2);
  assert.equal(releaseAlone.code, 0);
  assert.match(releaseAlone.stdout, /usage: edgeplane release/);
});
