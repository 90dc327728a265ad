import { describe, expect, it } from 'vitest';
import { RequestError } from '../../src/commands/errors.ts';
import { tokenize } from '../../src/commands/tokenize.ts';

function refusal(text: string): string {
  try {
    tokenize(text);
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    return err.message;
  }
  throw new Error('expected a refusal');
}

describe('tokenize', () => {
  it('splits on runs of spaces and trims', () => {
    expect(tokenize('  upgrade   k8s-1  1.23/stable --dry-run ')).toEqual(['upgrade', 'k8s-1', '1.23/stable', '--dry-run']);
    expect(tokenize('')).toEqual([]);
    expect(tokenize('    ')).toEqual([]);
    expect(tokenize('a.b_c:d/e=f,g@h+i-j')).toEqual(['a.b_c:d/e=f,g@h+i-j']);
  });

  it('refuses every shell metacharacter by name', () => {
    for (const ch of [';', '|', '&', '$', '(', ')', '`', '<', '>', '\\', "'", '"', '*', '?', '!', '{', '}', '[', ']', '~', '#']) {
      const message = refusal(`status x${ch}y`);
      expect(message.startsWith(`'${ch}' in 'x${ch}y' is not allowed: shell metacharacters`)).toBe(true);
      expect(message).toContain('words may contain only ASCII letters, digits and . _ : / = , @ + -');
    }
  });

  it('refuses other punctuation, control characters and non-ASCII', () => {
    expect(refusal('status 50%')).toMatch(/^the character '%' in '50%' is not allowed/);
    expect(refusal('status\r\n')).toMatch(/a line break/);
    expect(refusal('status\u0007')).toMatch(/a control character \(U\+0007\)/);
    expect(refusal('status\u007f')).toMatch(/a control character \(U\+007F\)/);
    expect(refusal('statüs')).toMatch(/the non-ASCII character 'ü' \(U\+00FC\) in 'statüs'/);
    expect(refusal('status \u{1F680}')).toMatch(/non-ASCII character '\u{1F680}' \(U\+1F680\);/u);
    // Invisible or direction-changing characters are named by code point only, and their word is not echoed.
    const rtl = refusal('upgrade \u202ek8s-1');
    expect(rtl).toMatch(/a non-ASCII character \(U\+202E\);/);
    expect(rtl).not.toContain('\u202e');
    expect(refusal('status\u00a0--cluster prod')).toMatch(/a no-break space \(U\+00A0\)/);
    expect(refusal('upgrade k8s-1 1.23/stable \u2014dry-run')).toMatch(/a dash '\u2014' \(U\+2014\) — your chat client may have turned -- into it/);
  });

  it('bounds words and lines and never echoes more than ~40 characters', () => {
    expect(tokenize(`status ${'a'.repeat(100)}`)[1]).toHaveLength(100);
    const word = refusal(`status ${'a'.repeat(101)}`);
    expect(word).toBe(`'${'a'.repeat(39)}…' is 101 characters long; a word may have at most 100`);
    expect(tokenize(`${'a '.repeat(249)}b`)).toHaveLength(250);
    expect(refusal('a'.repeat(501))).toBe('the command is 501 characters long; at most 500 are allowed');
    const meta = refusal(`status ${'b'.repeat(90)};`);
    expect(meta.length).toBeLessThan(200);
    expect(meta).toContain(`'${'b'.repeat(39)}…'`);
  });
});
