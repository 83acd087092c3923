#!/usr/bin/env node
// Runs the CLI from TypeScript sources through tsx, so `npx dreamframe` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
