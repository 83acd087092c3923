/**
 * Name → lookalike substitution for frame prompts (method §4): before rendering, every character
 * name in a frame description is replaced by its descriptor ("a man looks like Gerard Butler in
 * brown"), whole words only and in any capitalisation; possessives stay attached ("…in brown's
 * hand"). Dialogue and QA keep the names.
 */

export interface NamedCharacter {
  name: string;
  lookalike: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function substituteLookalikes(text: string, characters: readonly NamedCharacter[]): string {
  const usable = characters.filter((c) => c.name.trim() && c.lookalike.trim());
  if (usable.length === 0) return text;
  const norm = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');
  const byName = new Map(usable.map((c) => [norm(c.name), c.lookalike.trim()]));
  // Longest names first so "Baron Rigby" wins over a character called "Baron"; one pass, so a
  // descriptor that happens to contain another name is never substituted again.
  const names = [...byName.keys()].sort((a, b) => b.length - a.length)
    .map((n) => escapeRegExp(n).replace(/\s+/g, '\\s+'));
  const re = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${names.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
  return text.replace(re, (m) => byName.get(norm(m)) ?? m);
}

const PREFIX = /^\s*generate an image (?:in|on) \S+ style:\s*/i;

/** The final render prompt: "generate an image in <Keyword> style: <description with lookalikes>". */
export function assembleFramePrompt(keyword: string, description: string, characters: readonly NamedCharacter[]): string {
  const body = substituteLookalikes(description.replace(PREFIX, ''), characters).trim();
  return `generate an image in ${keyword} style: ${body}`;
}
