import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, safeMrkdwn, unescapeMrkdwn } from '../../src/util/mrkdwn.ts';

/** Text with plenty of the characters that matter to Slack. */
const hostile = fc.string({ unit: fc.constantFrom('<', '>', '&', '`', '!', '@', '#', 'U', 'C', '0', 'a', ' ', '|', ';', 'l', 't', 'g', 'm', 'p', '\n'), maxLength: 60 });

describe('escapeMrkdwn: untrusted text shown literally', () => {
  it('escapes a mention and a disguised link', () => {
    expect(escapeMrkdwn('<!channel> <https://evil.example|Approve job 42> & co')).toBe('&lt;!channel&gt; &lt;https://evil.example|Approve job 42&gt; &amp; co');
  });

  it('leaves plain text as it is', () => {
    expect(escapeMrkdwn('snap refresh microk8s --channel 1.23/stable')).toBe('snap refresh microk8s --channel 1.23/stable');
  });

  it('never leaves < or >, a bare &, or two adjacent backticks (no fence can open or close)', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const out = escapeMrkdwn(text);
        expect(out).not.toMatch(/[<>]/);
        expect(out.replaceAll('&amp;', '').replaceAll('&lt;', '').replaceAll('&gt;', '')).not.toContain('&');
        expect(out).not.toContain('``');
      }),
      { numRuns: 500 },
    );
  });

  it('Slack shows exactly the original text', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        expect(unescapeMrkdwn(escapeMrkdwn(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});

describe('safeMrkdwn: a composed message made safe', () => {
  it("keeps the bot's own mentions and already-escaped entities", () => {
    expect(safeMrkdwn('approved by <@U0BOB> in <#C0PROD00001>: &lt;x&gt;')).toBe('approved by <@U0BOB> in <#C0PROD00001>: &lt;x&gt;');
  });

  it('escapes everything else that Slack would read as markup', () => {
    expect(safeMrkdwn('<!here> <https://x.example|y> <@U0BOB|bob> a & b')).toBe('&lt;!here&gt; &lt;https://x.example|y&gt; &lt;@U0BOB|bob&gt; a &amp; b');
  });

  it('is idempotent, and leaves escaped text alone', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const once = safeMrkdwn(text);
        expect(safeMrkdwn(once)).toBe(once);
        expect(safeMrkdwn(escapeMrkdwn(text))).toBe(escapeMrkdwn(text));
      }),
      { numRuns: 500 },
    );
  });

  it('leaves no < other than a mention of a user or channel id', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const out = safeMrkdwn(text);
        for (let i = out.indexOf('<'); i >= 0; i = out.indexOf('<', i + 1)) expect(out.slice(i)).toMatch(/^<(?:@[UW]|#C)[A-Z0-9]+>/);
      }),
      { numRuns: 500 },
    );
  });
});
