import { describe, expect, it } from 'vitest';
import { UnsafeArgumentError, commandLine, shellQuote } from '../../src/ssh/quote.ts';
import { splitShellWords } from '../support/ssh-test-server.ts';

describe('shellQuote', () => {
  it('leaves plain safe words alone, for readable logs', () => {
    for (const w of ['microk8s', 'kubectl', '--timeout=300s', '1.23/stable', 'node/k8s-1', 'a@b:c', '50%', 'a+b,c', '-n', '--']) {
      expect(shellQuote(w)).toBe(w);
    }
  });

  it('single-quotes everything else, escaping embedded quotes', () => {
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$(id)')).toBe("'$(id)'");
    expect(shellQuote('~')).toBe("'~'");
    expect(shellQuote('*')).toBe("'*'");
  });

  it('rejects NUL bytes', () => {
    expect(() => shellQuote('a\0b')).toThrow(UnsafeArgumentError);
  });
});

describe('commandLine', () => {
  const nasty = [
    'plain',
    'with space',
    "single'quote",
    'double"quote',
    '$(rm -rf /)',
    '`reboot`',
    'a; rm -rf /',
    'x && y || z',
    'pipe | tee',
    '> /etc/passwd',
    'new\nline',
    'tab\there',
    '\\backslash\\',
    '$HOME ${PATH}',
    '!history',
    '*.glob?[a]',
    '{a,b}',
    '#comment',
    '~root',
    '',
    "''",
    'ünïcødé ✓',
  ];

  it('every argument arrives as exactly one literal word', () => {
    const line = commandLine(['echo', ...nasty]);
    expect(splitShellWords(line)).toEqual(['echo', ...nasty]);
  });

  it('quotes a first word containing "=" so it is never an assignment', () => {
    expect(commandLine(['A=b', 'c'])).toBe("'A=b' c");
    expect(commandLine(['kubectl', '--for=condition=Ready'])).toBe('kubectl --for=condition=Ready');
  });

  it('refuses an empty argv', () => {
    expect(() => commandLine([])).toThrow(UnsafeArgumentError);
  });
});
