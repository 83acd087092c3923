#!/usr/bin/env node
// Runs the CLI from TypeScript sources through tsx, so `npx dreamframe` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main/cli/main.ts');
const code = await main(process.argv.slice(2));
// A command may set process.exitCode itself (plot: 130 after Ctrl+C, 1 for a failed job); keep it then.
if (code !== 0 || !process.exitCode) process.exitCode = code;
