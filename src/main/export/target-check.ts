import { accessSync, constants, realpathSync, statSync, statfsSync } from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import { AppError } from '../../shared/errors';

/**
 * An export folder must be a regular, writable folder on a real file system. Kernel interfaces (/proc, /sys,
 * /dev and file systems of their kind mounted elsewhere) are refused before anything is created: writing
 * below them spins or fails in ways that look like a hang, and a job resumed at start-up would do it again.
 * A path under a file (/etc/hostname/out) or a file itself is refused with the reason.
 */

const KERNEL_ROOTS = ['/proc', '/sys', '/dev'];

/** statfs magic numbers of pseudo file systems no dataset belongs on (linux/magic.h). */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x1373, 'devfs'], [0x1cd1, 'devpts'], [0x64626720, 'debugfs'],
  [0x73636673, 'securityfs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0x74726163, 'tracefs'],
  [0xcafe4a11, 'bpf'], [0x62656570, 'configfs'], [0x6165676c, 'pstore'], [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'], [0x19800202, 'mqueue'], [0x42494e4d, 'binfmt_misc'],
]);

function isUnder(root: string, path: string): boolean {
  return path === root || path.startsWith(`${root}${sep}`);
}

/** The nearest part of `path` that exists (resolved through links), and the names below it still to create. */
function nearestExisting(path: string): { existing: string; missing: string[] } {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    try {
      return { existing: realpathSync(current), missing: missing.reverse() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a parent is a file; keep climbing to name it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = dirname(current);
      if (parent === current) return { existing: current, missing: missing.reverse() };
      missing.push(basename(current));
      current = parent;
    }
  }
}

/** Throws `export_bad_target` unless `outDir` is (or can be created as) a writable folder on a real file system. */
export function checkExportTarget(outDir: string): void {
  const { existing, missing } = nearestExisting(outDir);
  const target = resolve(existing, ...missing);
  const refuse = (why: string): never => {
    throw new AppError('export_bad_target', `Export folder ${outDir} ${why}; choose a regular folder you can write to`, { outDir, resolved: target });
  };
  const kernelRoot = KERNEL_ROOTS.find((root) => isUnder(root, target));
  if (kernelRoot) refuse(`is under ${kernelRoot}, a kernel interface, not a file system for data`);
  const stat = statSync(existing);
  if (!stat.isDirectory()) {
    refuse(missing.length > 0 ? `cannot be created: ${existing} is a file, not a folder` : 'is a file, not a folder');
  }
  const fsType = PSEUDO_FS.get(statfsSync(existing).type);
  if (fsType) refuse(`is on a ${fsType} file system (${existing}), not a regular one`);
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    refuse(missing.length > 0 ? `cannot be created: ${existing} is not writable` : 'is not writable');
  }
}
