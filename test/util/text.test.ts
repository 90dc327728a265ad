import { describe, expect, it } from 'vitest';
import { outputExcerpt, stripAnsi, trimChars } from '../../src/util/text.ts';

describe('linear text helpers', () => {
  it('trimChars trims the given characters at either end', () => {
    expect(trimChars('  a b  ', ' ')).toBe('a b');
    expect(trimChars(`"'[x]'"`, `"'[`, 'start')).toBe(`x]'"`);
    expect(trimChars(`"'[x]'"`, `"']`, 'end')).toBe(`"'[x`);
    expect(trimChars('    ', ' ')).toBe('');
  });

  it('stripAnsi removes colour and cursor escapes only', () => {
    expect(stripAnsi('\u001b[1;31mred\u001b[0m \u001b[2J\u001b[Hx')).toBe('red x');
    expect(stripAnsi('\u001b[1;2;3')).toBe('\u001b[1;2;3');
  });

  it('outputExcerpt is one printable line, cut at max', () => {
    expect(outputExcerpt('\n\n  a\r\n\nb\u0007c  \n')).toBe('"a ⏎ b?c"');
    expect(outputExcerpt('   ')).toBe('(no output)');
    expect(outputExcerpt('x'.repeat(500), 10)).toBe(`"${'x'.repeat(10)}…"`);
    // A huge output costs no more than its start.
    expect(outputExcerpt(`${' '.repeat(5_000_000)}tail`)).toBe('"tail"');
  });
});
