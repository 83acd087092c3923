import type { z } from 'zod';

/** Renders a zod issue path as a JSONPath-like string: `$.img_diag[12][0]`. */
export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '$';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

export function describeIssues(error: z.ZodError, limit = 5): { text: string; issues: { path: string; message: string }[] } {
  const issues = error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
  const shown = issues.slice(0, limit).map((i) => `${i.path}: ${i.message}`).join('; ');
  const more = issues.length > limit ? ` (and ${issues.length - limit} more)` : '';
  return { text: shown + more, issues };
}

/** Parses JSON, turning a syntax error into "line L, column C". */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    if (pos) {
      const offset = Number(pos[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      return { ok: false, message: `invalid JSON at line ${line}, column ${column}: ${message}` };
    }
    return { ok: false, message: `invalid JSON: ${message}` };
  }
}
