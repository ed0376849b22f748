import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerConformance } from './commands/conformance.js';
import { registerConvert } from './commands/convert.js';
import { registerInspect } from './commands/inspect.js';
import { formatDemo, runDemo } from './demo.js';

/** This package's version, read from its package.json (`../package.json` from both `src/` and `dist/`). */
export const CLI_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/**
 * The `embedding-layer` program: `demo`, `inspect`, `conformance`, `bench`, `convert`, and
 * `--version`. `demo` is a named command, not commander's default command: a default command
 * takes every unknown word as its own argument (`embedding-layer frob` said "too many arguments
 * for 'demo'"); here an unknown word is an unknown command. {@link runCli} runs `demo` when no
 * argument is given.
 */
export function createProgram(): Command {
  const program = new Command();
  program
    .name('embedding-layer')
    .description('The Keras Embedding layer on every JavaScript backend.')
    .version(CLI_VERSION, '-V, --version', 'print the version of @embedding-layer/cli')
    .showSuggestionAfterError();
  program
    .command('demo')
    .description('Run the seed example on every installed backend and check that they agree (the default command).')
    .action(async () => {
      const rows = await runDemo();
      console.log(formatDemo(rows));
      const ran = rows.filter((r) => r.shape);
      if (ran.length === 0 || !ran.every((r) => r.agrees)) process.exitCode = 1;
    });
  registerInspect(program);
  registerConformance(program);
  registerBench(program);
  registerConvert(program);
  return program;
}

/** Runs the CLI on `args` (the words after the command name): no words at all runs `demo`. */
export async function runCli(args: readonly string[], program: Command = createProgram()): Promise<void> {
  await program.parseAsync(args.length === 0 ? ['demo'] : [...args], { from: 'user' });
}
