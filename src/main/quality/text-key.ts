import { createHash } from 'node:crypto';

/** Cache key of a text's CLIP embedding: 'text:' + sha256 of its UTF-8 (image keys are bare asset hashes). */
export function textKey(text: string): string {
  return `text:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}
