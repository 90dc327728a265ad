import { describe, expect, it } from 'vitest';
import { CappedOutput, truncationNote } from '../../src/ssh/capped-output.ts';

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
  });
});
