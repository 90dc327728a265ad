import { describe, expect, it } from 'vitest';
import type { HomeView } from '../../../src/chat/port.ts';
import { HOME_LIMITS, renderHome } from '../../../src/chat/slack/home.ts';
import { LIMITS } from '../../../src/chat/slack/render.ts';

function view(clusters: number, bodyLines: number): HomeView {
  return {
    title: `mk8s · ${clusters} cluster(s)`,
    sections: Array.from({ length: clusters }, (_, i) => ({
      header: `Cluster c${i} ${'x'.repeat(200)}`,
      body: Array.from({ length: bodyLines }, (__, l) => `line ${l} of cluster c${i} ${'y'.repeat(60)}`).join('\n'),
      context: 'as of now',
    })),
  };
}

describe('renderHome', () => {
  it('keeps a big view within the Home tab limits and names the clusters it left out', () => {
    const out = renderHome(view(40, 120));
    expect(out.type).toBe('home');
    expect(out.blocks.length).toBeLessThanOrEqual(HOME_LIMITS.blocks);
    for (const b of out.blocks) {
      if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(HOME_LIMITS.header);
      if (b.type === 'section') expect(b.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    }
    const last = out.blocks[out.blocks.length - 1]!;
    expect(last.type).toBe('context');
    expect(last.type === 'context' && last.elements[0]!.text).toMatch(/^Not shown \(the Home tab holds 100 blocks\): Cluster c\d+/);
  });

  it('shows a small view whole: title, then per cluster a divider, header, sections and context', () => {
    const out = renderHome(view(3, 20));
    expect(out.blocks.map((b) => b.type)).toEqual(['header', ...Array.from({ length: 3 }, () => ['divider', 'header', 'section', 'context']).flat()]);
  });
});
