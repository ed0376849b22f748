#!/usr/bin/env node
import { Command } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerConformance } from './commands/conformance.js';
import { registerConvert } from './commands/convert.js';
import { registerInspect } from './commands/inspect.js';
import { formatDemo, runDemo } from './demo.js';

const program = new Command();
program.name('embedding-layer').description('The Keras Embedding layer on every JavaScript backend.');

program
  .command('demo', { isDefault: true })
  .description('Run the seed example on every installed backend and check that they agree.')
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

await program.parseAsync();
