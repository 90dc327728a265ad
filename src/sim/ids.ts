/** Stable ids of simulated objects: a sha256 hex digest, and a UUID (v4 layout) derived from a seed. */
import { createHash } from 'node:crypto';

export function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function uuid(seed: string): string {
  const h = sha(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
