#!/usr/bin/env node
/**
 * The `latchkey` executable (package.json "bin"). It always runs the command line, whatever
 * name it is started by: `npx latchkey`, node_modules/.bin/latchkey, a global install's link.
 */
import { runCommandLine } from './main.js';

await runCommandLine(process.argv.slice(2));
