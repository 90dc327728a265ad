import { createHash } from 'node:crypto';

/** The sha256 of a text (its UTF-8 bytes), lowercase hex: what `sha256sum` prints for the same file. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
