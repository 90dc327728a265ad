import { describe, expect, it } from 'vitest';
import { channelDisplayName, parseChannel, resolveChannel } from '../../src/sim/catalogue.ts';
import { formatGoDuration, parseGoDuration } from '../../src/sim/context.ts';
import { humanDuration, kubeJson } from '../../src/sim/kube-output.ts';
import { parseShellWords, shellQuote, splitSudo } from '../../src/sim/shell.ts';
import { tabwrite, kubectlTable } from '../../src/sim/tabwriter.ts';

describe('shell word parsing', () => {
  const words = (s: string) => {
    const r = parseShellWords(s, '/home/ubuntu');
    if (!r.ok) throw new Error(r.stderr);
    return r.words;
  };

  it('splits quoted words like sh', () => {
    expect(words(`'microk8s' 'kubectl' 'get' 'pods' '-A' '--field-selector' 'spec.nodeName=k8s-1'`)).toEqual(['microk8s', 'kubectl', 'get', 'pods', '-A', '--field-selector', 'spec.nodeName=k8s-1']);
    expect(words(`echo "a b" c\\ d 'it'\\''s' "x\\"y" ""`)).toEqual(['echo', 'a b', 'c d', "it's", 'x"y', '']);
    expect(words('ls ~/x ~')).toEqual(['ls', '/home/ubuntu/x', '/home/ubuntu']);
    expect(words('echo a#b # comment')).toEqual(['echo', 'a#b']);
  });

  it('round-trips shellQuote', () => {
    const argv = ['snap', 'refresh', 'microk8s', '--channel=1.23/stable', "it's", 'a b', '$(x)', '', '`y`', ';'];
    expect(words(argv.map(shellQuote).join(' '))).toEqual(argv);
  });

  it.each([
    ['k8s-1; rm -rf /', ';'],
    ['a && b', '&&'],
    ['a | b', '|'],
    ['echo $(id)', '$('],
    ['echo "$(id)"', '$('],
    ['echo `id`', '`'],
    ['echo $HOME', '$H'],
    ['cat < /etc/passwd', '<'],
    ['echo x > /tmp/y', '>'],
    ['a\nb', 'newline'],
  ])('refuses %j as bash would not run it simply', (input, token) => {
    const r = parseShellWords(input, '/home/ubuntu');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`syntax error near unexpected token \`${token}`);
    }
  });

  it('reports an unterminated quote', () => {
    const r = parseShellWords("echo 'abc", '/home/ubuntu');
    expect(r).toMatchObject({ ok: false, code: 2 });
  });

  it('strips sudo prefixes', () => {
    expect(splitSudo(['sudo', '-n', '--', 'snap', 'list'])).toEqual({ sudo: true, interactive: false, argv: ['snap', 'list'] });
    expect(splitSudo(['sudo', 'snap', 'list'])).toEqual({ sudo: true, interactive: true, argv: ['snap', 'list'] });
    expect(splitSudo(['LANG=C', 'snap', 'list'])).toEqual({ sudo: false, interactive: false, argv: ['snap', 'list'] });
    expect(splitSudo(['sudo', '-n']).error?.code).toBe(1);
  });
});

describe('Go-compatible formatting', () => {
  it('aligns columns like text/tabwriter', () => {
    expect(kubectlTable([['NAME', 'STATUS', 'VERSION'], ['k8s-1', 'Ready', 'v1.22.3']])).toBe('NAME    STATUS   VERSION\nk8s-1   Ready    v1.22.3\n');
    // snap list: minwidth 5, padding 2
    expect(tabwrite('Name\tRev\tNotes\nmicrok8s\t2551\tclassic\n', { minwidth: 5, padding: 2 })).toBe('Name      Rev   Notes\nmicrok8s  2551  classic\n');
    // a line without cells ends the column block
    expect(tabwrite('a:\tx\nlonger-key:\ty\nplain\nb:\tz\n', { minwidth: 2, padding: 1 })).toBe('a:          x\nlonger-key: y\nplain\nb: z\n');
  });

  it('prints ages like kubectl', () => {
    expect(humanDuration(16_000)).toBe('16s');
    expect(humanDuration(341_000)).toBe('5m41s');
    expect(humanDuration(14 * 60_000)).toBe('14m');
    expect(humanDuration(96 * 60_000)).toBe('96m');
    expect(humanDuration(5 * 3_600_000 + 60_000)).toBe('5h1m');
    expect(humanDuration(19 * 86_400_000)).toBe('19d');
    expect(humanDuration(3 * 86_400_000 + 3_600_000 * 2)).toBe('3d2h');
  });

  it('parses and prints Go durations', () => {
    expect(parseGoDuration('30s')).toBe(30_000);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('250ms')).toBe(250);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('soon')).toBeUndefined();
    expect(formatGoDuration(300_000)).toBe('5m0s');
    expect(formatGoDuration(30_000)).toBe('30s');
  });

  it('prints JSON with sorted keys, 4 spaces and HTML-safe escapes', () => {
    expect(kubeJson({ b: 1, a: { d: '<x>', c: [] } })).toBe('{\n    "a": {\n        "c": [],\n        "d": "\\u003cx\\u003e"\n    },\n    "b": 1\n}\n');
  });
});

describe('snap channels', () => {
  it('parses like snapd', () => {
    expect(parseChannel('1.23/stable')).toEqual({ track: '1.23', risk: 'stable' });
    expect(parseChannel('candidate')).toEqual({ track: 'latest', risk: 'candidate' });
    expect(parseChannel('1.23')).toEqual({ track: '1.23', risk: 'stable' });
    expect(parseChannel('1.23/stabel')).toEqual({ error: 'invalid risk in channel name: 1.23/stabel' });
    expect(parseChannel('a/b/c/d')).toEqual({ error: 'channel name has too many components: a/b/c/d' });
  });

  it('serves closed risks from the next more stable one', () => {
    expect(resolveChannel('1.24/candidate')?.servedFrom).toBe('1.24/stable');
    expect(resolveChannel('1.23/candidate')?.release.version).toBe('v1.23.0-rc.0');
    expect(resolveChannel('1.99/stable')).toBeUndefined();
    expect(channelDisplayName('latest/stable')).toBe('stable');
    expect(channelDisplayName('1.23/stable')).toBe('1.23/stable');
  });
});
