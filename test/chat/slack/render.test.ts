import { describe, expect, it } from 'vitest';
import { LIMITS, renderButton, renderMessage, splitBody, TRUNCATED_NOTE, truncate, type Block } from '../../../src/chat/slack/render.ts';

type Section = Extract<Block, { type: 'section' }>;
type Context = Extract<Block, { type: 'context' }>;
type Actions = Extract<Block, { type: 'actions' }>;
const sections = (blocks: Block[]) => blocks.filter((b): b is Section => b.type === 'section');
const contextOf = (blocks: Block[]) => blocks.find((b): b is Context => b.type === 'context');
const actionsOf = (blocks: Block[]) => blocks.find((b): b is Actions => b.type === 'actions');

describe('renderMessage', () => {
  it('always sets the fallback text and shows it as the first section', () => {
    const r = renderMessage({ text: 'job 42 running' });
    expect(r.text).toBe('job 42 running');
    expect(r.blocks).toHaveLength(1);
    expect(r.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn', text: 'job 42 running' } });
  });

  it('renders body, context and buttons in that order with Slack field names', () => {
    const r = renderMessage({
      text: 'job 42 awaiting approval',
      body: 'drain k8s-1',
      context: 'requested by <@U1>',
      buttons: [
        {
          label: 'Approve',
          actionId: 'mk8s.approve',
          value: 'g1',
          style: 'danger',
          confirm: { title: 'T'.repeat(150), text: 'x'.repeat(400), confirm: 'C'.repeat(40), deny: 'D'.repeat(40) },
        },
        { label: 'Reject', actionId: 'mk8s.reject', value: 'g1' },
      ],
    });
    expect(r.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context', 'actions']);
    const [approve, reject] = actionsOf(r.blocks)?.elements ?? [];
    expect(approve?.text).toEqual({ type: 'plain_text', text: 'Approve', emoji: true });
    expect(approve?.style).toBe('danger');
    expect(approve?.confirm?.title.text.length).toBe(LIMITS.confirmTitle);
    expect(approve?.confirm?.text.text.length).toBe(LIMITS.confirmText);
    expect(approve?.confirm?.confirm.text.length).toBe(LIMITS.confirmButton);
    expect(approve?.confirm?.deny.text.length).toBe(LIMITS.confirmButton);
    expect(approve?.confirm?.title.text.endsWith('…')).toBe(true);
    expect(approve?.confirm?.style).toBe('danger');
    expect(reject).toEqual({ type: 'button', text: { type: 'plain_text', text: 'Reject', emoji: true }, action_id: 'mk8s.reject', value: 'g1' });
  });

  it('uses fresh, unique block ids on every render', () => {
    const m = { text: 'a', body: 'b', context: 'c', buttons: [{ label: 'Approve', actionId: 'mk8s.approve', value: 'v' }] };
    const one = renderMessage(m).blocks.map((b) => b.block_id);
    const two = renderMessage(m).blocks.map((b) => b.block_id);
    expect(new Set(one).size).toBe(one.length);
    expect(one.filter((id) => two.includes(id))).toEqual([]);
    for (const id of one) expect(id.length).toBeLessThanOrEqual(255);
  });

  it('splits a long body into sections of at most 3000 chars on line boundaries', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `step ${String(i).padStart(3, '0')}: ${'x'.repeat(40)}`);
    const r = renderMessage({ text: 'log', body: lines.join('\n') });
    const body = sections(r.blocks).slice(1);
    expect(body.length).toBeGreaterThan(1);
    for (const s of body) expect(s.text.text.length).toBeLessThanOrEqual(3000);
    // No line was cut: re-joining the sections gives the body back.
    expect(body.map((s) => s.text.text).join('\n')).toBe(lines.join('\n'));
  });

  it('keeps a code block whole when it fits, rather than splitting inside it', () => {
    const before = 'a'.repeat(2500); // the code block (~1000 chars) does not fit after it
    const code = ['```', ...Array.from({ length: 20 }, (_, i) => `line ${i} ${'y'.repeat(40)}`), '```'].join('\n');
    const chunks = splitBody(`${before}\n${code}\nafter`);
    expect(chunks[0]).toBe(before);
    expect(chunks[1]?.startsWith('```')).toBe(true);
    expect(chunks[1]).toContain('line 19');
    for (const c of chunks) expect((c.match(/```/g) ?? []).length % 2).toBe(0);
  });

  it('closes and reopens the fence when one code block is longer than a section', () => {
    const code = ['```', ...Array.from({ length: 200 }, (_, i) => `node-${i} Ready v1.22.3 ${'z'.repeat(30)}`), '```'].join('\n');
    const chunks = splitBody(code);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(3000);
      expect(c.startsWith('```')).toBe(true);
      expect(c.endsWith('```')).toBe(true);
    }
    expect(chunks.join('\n')).toContain('node-199 Ready');
  });

  it('hard-splits a single line longer than a section', () => {
    const chunks = splitBody('q'.repeat(7000));
    expect(chunks.map((c) => c.length)).toEqual([3000, 3000, 1000]);
  });

  it('caps a message at 50 blocks with a truncation note, keeping context and buttons', () => {
    const body = Array.from({ length: 200 }, () => 'w'.repeat(2999)).join('\n');
    const r = renderMessage({
      text: 'huge',
      body,
      context: 'ctx',
      buttons: [{ label: 'Approve', actionId: 'mk8s.approve', value: 'v' }],
    });
    expect(r.blocks).toHaveLength(LIMITS.blocksPerMessage);
    expect(r.blocks.at(-1)?.type).toBe('actions');
    expect(r.blocks.at(-2)).toMatchObject({ type: 'context', elements: [{ text: 'ctx' }] });
    expect(r.blocks.at(-3)).toMatchObject({ type: 'context', elements: [{ text: TRUNCATED_NOTE }] });
  });

  it('truncates over-long text, labels and context', () => {
    const r = renderMessage({ text: 't'.repeat(5000), context: 'c'.repeat(5000), buttons: [{ label: 'L'.repeat(100), actionId: 'mk8s.x', value: 'v' }] });
    expect(r.text.length).toBe(LIMITS.fallbackText);
    expect(sections(r.blocks)[0]?.text.text.length).toBe(LIMITS.sectionText);
    expect(contextOf(r.blocks)?.elements[0]?.text.length).toBe(LIMITS.contextText);
    expect(actionsOf(r.blocks)?.elements[0]?.text.text.length).toBe(LIMITS.buttonText);
  });

  it('refuses a button value over 2000 chars instead of corrupting it', () => {
    expect(() => renderButton({ label: 'Approve', actionId: 'mk8s.approve', value: 'v'.repeat(2001) })).toThrow(/2000/);
  });

  it('never splits a surrogate pair when truncating', () => {
    const s = `${'a'.repeat(8)}😀😀`;
    const t = truncate(s, 10);
    expect(t.length).toBeLessThanOrEqual(10);
    expect(t).toBe(`${'a'.repeat(8)}…`);
  });
});
