/**
 * Quoting text that came from a file or a request inside an error message: the message reaches terminals, logs and
 * API clients, so what it quotes is short and has every control character escaped (C0/C1 controls, DEL, the bidi
 * overrides that reorder a line, line/paragraph separators, BOM, lone surrogates).
 */

const NEEDS_ESCAPE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;

function escapeOne(ch: string): string {
  if (ch === '"') return '\\"';
  if (ch === '\\') return '\\\\';
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Escapes control characters (and `"`, `\`) the way a JSON string would, leaving printable text as it is. */
export function escapeControls(text: string): string {
  return text.replace(NEEDS_ESCAPE, escapeOne);
}

/** At most `maxChars` characters of `text` (code points, never half a pair), escaped, with "…" when cut. */
export function quoteExcerpt(text: string, maxChars: number): string {
  const chars = Array.from(text);
  const cut = chars.length > maxChars;
  return escapeControls(chars.slice(0, maxChars).join('')) + (cut ? '…' : '');
}
