/**
 * Runs every bench in this folder one after another (each prints its own measurements). A bench is a
 * top-level `bench/*.ts`; helpers live in `bench/lib/` (modules and child-process workers a bench
 * starts) or start with `_` (commands of their own, like `_full-size.ts` behind `npm run bench:full`).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const only = process.argv.slice(2);
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run-all.ts' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const script of scripts) {
  console.log(`\n=== bench/${script} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, script)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
