import { describe, expect, it } from 'vitest';
import { outputExcerpt } from '../../src/util/excerpt.ts';
import { trimChars } from '../../src/util/text.ts';

describe('linear text helpers', () => {
  it('trimChars trims the given characters at either end', () => {
    expect(trimChars('  a b  ', ' ')).toBe('a b');
    expect(trimChars(`"'[x]'"`, `"'[`, 'start')).toBe(`x]'"`);
    expect(trimChars(`"'[x]'"`, `"']`, 'end')).toBe(`"'[x`);
    expect(trimChars('    ', ' ')).toBe('');
  });

  it('outputExcerpt of a huge output is one short quoted line', () => {
    expect(outputExcerpt(`${' '.repeat(5_000_000)}tail`)).toBe('"tail"');
    expect(outputExcerpt('   ')).toBe('(no output)');
  });
});
