/**
 * The secrets this process knows (the LLM API key from the store or the environment, any other value
 * put in the secret store), so that nothing written to the project database or a log can carry one —
 * also when a server echoes the key inside an answer or an error. Values are registered where they are
 * read or set (secret-store.ts, the LLM client); `redactSecrets` runs on text before it is stored or logged.
 */

export const REDACTED = '[redacted]';

/** Shorter values would match ordinary words; real keys are far longer. */
const MIN_SECRET_LENGTH = 6;

const known = new Set<string>();

export function registerSecret(value: string | null | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) known.add(value);
}

/** Key-like tokens of the common providers ("sk-…", "pk-…", "key-…"), also when only partly echoed. */
const KEY_LIKE = /\b(sk|pk|key)-[A-Za-z0-9_*.-]{6,}/g;

export function redactSecrets(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another is hidden whole.
  for (const secret of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out.replace(KEY_LIKE, `$1-${REDACTED}`);
}

/** `redactSecrets` for a value about to be stored as JSON (a parsed answer, an error payload). */
export function redactJson(value: unknown): string {
  return redactSecrets(JSON.stringify(value));
}
