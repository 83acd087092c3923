/**
 * Name → lookalike substitution and the keyframe prompt, as the DreamFrame release builds it (method doc §4):
 * every character name in a frame description is replaced by the character's lookalike descriptor, then the
 * text goes into "generate an image in <keyword> style: <description>". Dialogue and QA keep the names.
 * Used by rendering and by the plot UI's prompt preview.
 */

export interface NamedCharacter {
  name: string;
  /** e.g. "a woman looks like Natalie Portman in royal blue"; empty = leave the name as written */
  lookalike: string;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces whole-word, case-insensitive occurrences of character names by their descriptors.
 * Letters and digits of any script count as word characters, so "Ann" inside "Joanna" or "Zoë"
 * inside "Zoëlle" stay untouched, while "Eleanor's" becomes "<descriptor>'s". Longer names win
 * ("Mary Ann" before "Mary"); a single pass means a descriptor is never substituted again.
 */
export function substituteLookalikes(text: string, characters: readonly NamedCharacter[]): string {
  const byKey = new Map<string, string>();
  for (const c of characters) {
    const name = c.name.normalize('NFC').trim();
    const descriptor = c.lookalike.trim();
    if (name && descriptor) byKey.set(name.toLocaleLowerCase(), descriptor);
  }
  if (byKey.size === 0) return text;
  const names = [...byKey.keys()].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}\\p{M}_])(?:${names.map((n) => escapeRegExp(n).replace(/\s+/g, '\\s+')).join('|')})(?![\\p{L}\\p{N}\\p{M}_])`,
    'giu',
  );
  return text.normalize('NFC').replace(pattern, (match) => byKey.get(match.toLocaleLowerCase().replace(/\s+/g, ' ')) ?? match);
}

/** A description that already carries the release's prefix (pasted from a story_js) is not prefixed twice. */
const RELEASE_PREFIX = /^\s*generate an image (?:in|on) \S+ style:\s*/i;

/** "generate an image in <keyword> style: <description with names replaced>" (no keyword: the description alone). */
export function assembleFramePrompt(keyword: string, description: string, characters: readonly NamedCharacter[]): string {
  const body = substituteLookalikes(description.replace(RELEASE_PREFIX, '').trim(), characters);
  const kw = keyword.trim();
  return kw ? `generate an image in ${kw} style: ${body}` : body;
}
