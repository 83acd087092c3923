import type { z } from 'zod';
import { locateJsonError } from './json-error-position';
import { escapeControls, quoteExcerpt } from './quote';

/** Longest object key, issue message and file excerpt an error quotes; the rest is cut with "…". */
const MAX_KEY_CHARS = 40;
const MAX_ISSUE_CHARS = 160;
const EXCERPT_BEFORE = 8;
const EXCERPT_AFTER = 16;

/** Renders a zod issue path as a JSONPath-like string: `$.img_diag[12][0]`. */
export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '$';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(key)) out += `.${key}`;
    // Keys come from the file or the request: quoted short and escaped.
    else out += `["${quoteExcerpt(String(key), MAX_KEY_CHARS)}"]`;
  }
  return out;
}

export function describeIssues(error: z.ZodError, limit = 5): { text: string; issues: { path: string; message: string }[] } {
  const issues = error.issues.map((i) => ({ path: jsonPath(i.path), message: quoteExcerpt(i.message, MAX_ISSUE_CHARS) }));
  const shown = issues.slice(0, limit).map((i) => `${i.path}: ${i.message}`).join('; ');
  const more = issues.length > limit ? ` (and ${issues.length - limit} more)` : '';
  return { text: shown + more, issues };
}

/**
 * V8's reason without the text it quotes: "Unexpected token 'r', "root:x:0:0"... is not valid JSON" becomes
 * "Unexpected token 'r'", and "… in JSON at position 7 (line 1 column 8)" loses the position we compute ourselves.
 */
function reasonOf(v8Message: string): string {
  const reason = v8Message
    .replace(/, ".*" is not valid JSON$/su, '')
    .replace(/, ".*"\.\.\. is not valid JSON$/su, '')
    .replace(/ (?:in JSON )?at position \d+.*$/su, '');
  return quoteExcerpt(reason, 80);
}

/**
 * Parses JSON, turning a syntax error into "line L, column C: <reason> near "<excerpt>"". The excerpt is a few
 * escaped characters around the fault, never more: whatever file a path names (say /etc/passwd) reaches the
 * caller only as those characters.
 */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const v8Message = String((err as Error).message);
    const v8Position = /at position (\d+)/.exec(v8Message);
    const located = v8Position ? -1 : locateJsonError(text);
    const offset = v8Position ? Number(v8Position[1]) : Math.max(located, 0);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const near = offset >= text.length ? 'at the end of the file'
      : `near "${offset > EXCERPT_BEFORE ? '…' : ''}${escapeControls(text.slice(Math.max(0, offset - EXCERPT_BEFORE), offset))}`
        + `${quoteExcerpt(text.slice(offset, offset + EXCERPT_AFTER + 1), EXCERPT_AFTER)}"`;
    return { ok: false, message: `invalid JSON at line ${line}, column ${column}: ${reasonOf(v8Message)} ${near}` };
  }
}
