import type { QaKind } from '../../shared/api/entities';

const KINDS: ReadonlyArray<[RegExp, QaKind]> = [
  [/^describe\b/i, 'describe'],
  [/^what\b/i, 'what'],
  [/^why\b/i, 'why'],
  [/^how\b/i, 'how'],
  [/^where\b/i, 'where'],
  [/^who(m|se)?\b/i, 'who'],
  [/^when\b/i, 'when'],
];

/** Classifies a question by its interrogative word, as the DreamFrame prompts ask for what/why/how/where. */
export function classifyQuestion(question: string): QaKind {
  const q = question.trim().replace(/^["'“‘(]+/, '');
  for (const [re, kind] of KINDS) if (re.test(q)) return kind;
  // "In which…", "Which…", "According to…": find the first interrogative word anywhere.
  const m = /\b(what|why|how|where|who|when)\b/i.exec(q);
  return m ? (m[1].toLowerCase() as QaKind) : 'other';
}
