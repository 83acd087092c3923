/**
 * The text cleanup CLIP applies before BPE: a small subset of ftfy's `fix_text` (the parts that change
 * ordinary prompts), HTML unescaping, whitespace collapse and lower-casing.
 *
 * ftfy itself is a large Python library; we port only the fixes that matter for prompts typed by people
 * or produced by an LLM: curly quotes, full-width characters, Latin ligatures, HTML entities and NFC.
 * Mojibake repair (ftfy's `fix_encoding`) is deliberately left out.
 */

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', hellip: '\u2026', mdash: '\u2014',
  ndash: '\u2013', lsquo: '\u2018', rsquo: '\u2019', ldquo: '\u201c', rdquo: '\u201d', copy: '\u00a9',
  reg: '\u00ae', trade: '\u2122', eacute: '\u00e9', egrave: '\u00e8', agrave: '\u00e0', uuml: '\u00fc',
  ouml: '\u00f6', auml: '\u00e4', ccedil: '\u00e7', szlig: '\u00df', deg: '\u00b0', times: '\u00d7',
};

/** Decodes `&name;`, `&#123;` and `&#x1F;` entities once. */
export function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    const named = NAMED_ENTITIES[body.toLowerCase()];
    return named ?? whole;
  });
}

const LIGATURES: Record<string, string> = {
  '\u0132': 'IJ', '\u0133': 'ij', '\u0149': "\u02bcn", '\u01c4': 'D\u017d', '\u01c5': 'D\u017e', '\u01c6': 'd\u017e',
  '\u01c7': 'LJ', '\u01c8': 'Lj', '\u01c9': 'lj', '\u01ca': 'NJ', '\u01cb': 'Nj', '\u01cc': 'nj',
  '\ufb00': 'ff', '\ufb01': 'fi', '\ufb02': 'fl', '\ufb03': 'ffi', '\ufb04': 'ffl', '\ufb05': '\u017ft', '\ufb06': 'st',
};

/** ftfy-style fixes: HTML entities (only when the text holds no tags), quotes, width, ligatures, NFC. */
export function fixText(text: string): string {
  let out = text;
  if (out.includes('&') && !out.includes('<')) out = unescapeHtml(out);
  out = out.replace(/[\u2018\u2019\u201a\u201b]/g, "'").replace(/[\u201c\u201d\u201e\u201f]/g, '"');
  out = out.replace(/[\u0132\u0133\u0149\u01c4-\u01cc\ufb00-\ufb06]/g, (c) => LIGATURES[c] ?? c);
  // Full-width ASCII variants (U+FF01..FF5E) map to ASCII; the ideographic space to a space.
  out = out.replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, ' ');
  out = out.replace(/\r\n?/g, '\n');
  return out.normalize('NFC');
}

/** CLIP's basic_clean + whitespace_clean + lower-case. */
export function cleanPromptText(text: string, opts: { ftfy?: boolean } = {}): string {
  let out = opts.ftfy === false ? text.normalize('NFC') : fixText(text);
  out = out.replace(/\s+/g, ' ').trim();
  return out.toLowerCase();
}
