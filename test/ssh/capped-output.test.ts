import { describe, expect, it } from 'vitest';
import { OutputParseError } from '../../src/errors/user-facing.ts';
import { CappedOutput, truncationNote, truncationOf } from '../../src/ssh/capped-output.ts';

describe('CappedOutput: what is kept of a command output stream', () => {
  it('keeps everything under the cap', () => {
    const out = new CappedOutput(10);
    out.push(Buffer.from('hello'));
    out.push(Buffer.from('world'));
    expect(out.truncated).toBe(false);
    expect(out.text()).toBe('helloworld');
  });

  it('keeps the first max bytes, counts the rest, and says where it was cut on the last line', () => {
    const out = new CappedOutput(8);
    for (let i = 0; i < 1000; i++) out.push(Buffer.from('0123456789'));
    expect(out.bytes).toBe(10_000);
    expect(out.truncated).toBe(true);
    expect(out.text()).toBe(`01234567\n${truncationNote(8)}`);
    expect(truncationNote(8)).toBe('[output truncated at 8 bytes]');
    expect(truncationOf(out.text())).toBe('[output truncated at 8 bytes]');
    expect(truncationOf('01234567')).toBeUndefined();
  });

  it('a parse error on cut output says it was cut', () => {
    const out = new CappedOutput(200);
    out.push(Buffer.from('x'.repeat(300)));
    expect(OutputParseError.of('snap list microk8s', 'a table', out.text()).message).toBe(
      `cannot read the output of \`snap list microk8s\`: expected a table; got "${'x'.repeat(160)}…" [output truncated at 200 bytes]`,
    );
  });
});
