/** The sentences runbooks post (src/ops/prose.ts). */
import { describe, expect, it } from 'vitest';
import { capitalize, sentence } from '../../src/ops/prose.ts';

describe('prose', () => {
  it('ends a failure text as a sentence, once', () => {
    expect(sentence('k8s-1 did not join')).toBe('k8s-1 did not join.');
    expect(sentence('  k8s-1 did not join  ')).toBe('k8s-1 did not join.');
    for (const done of ['It failed.', 'Really?', 'Stop!', 'exit code 1 (see above)']) expect(sentence(done)).toBe(done);
  });

  it('capitalizes the first letter only', () => {
    expect(capitalize('drain k8s-1')).toBe('Drain k8s-1');
    expect(capitalize('')).toBe('');
    expect(capitalize('Already')).toBe('Already');
  });
});
