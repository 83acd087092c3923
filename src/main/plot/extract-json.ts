/**
 * Finds the JSON object in a model's answer: the whole text, else a ```json fenced block, else the
 * first balanced {...} span (prose before/after is common when a server ignores response_format).
 */
export function extractJson(text: string): { value: unknown } | { error: string } {
  const trimmed = text.trim();
  if (!trimmed) return { error: 'the answer is empty' };
  const attempts: string[] = [trimmed];
  for (const m of trimmed.matchAll(/```(?:json|JSON)?\s*\n?([\s\S]*?)```/g)) attempts.push(m[1].trim());
  const span = firstBalancedObject(trimmed);
  if (span) attempts.push(span);
  let lastError = 'no JSON object found in the answer';
  for (const candidate of attempts) {
    try {
      return { value: JSON.parse(candidate) };
    } catch (err) {
      lastError = `not valid JSON: ${(err as Error).message}`;
    }
  }
  return { error: lastError };
}

/** The first '{' … matching '}' span, skipping braces inside strings. */
function firstBalancedObject(text: string): string | null {
  const start = text.indexOf('{');
  if (start < 0) return null;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}
