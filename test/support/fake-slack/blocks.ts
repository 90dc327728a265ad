/**
 * Block Kit, as the fake Slack reads it (fake-slack.ts): the buttons of a message's actions
 * blocks (what a test clicks), and the limits Slack applies to a Home tab's blocks.
 */
import type { FakeButton } from '../fake-slack.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function textOf(obj: unknown): string {
  return isRecord(obj) && typeof obj.text === 'string' ? obj.text : '';
}

export function strOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Buttons of every actions block, in order. */
export function buttonsOf(blocks: unknown[]): FakeButton[] {
  const out: FakeButton[] = [];
  for (const b of blocks) {
    if (!isRecord(b) || b.type !== 'actions' || !Array.isArray(b.elements)) continue;
    for (const e of b.elements) {
      if (!isRecord(e) || e.type !== 'button') continue;
      const style = strOf(e.style);
      out.push({
        label: textOf(e.text),
        actionId: strOf(e.action_id) ?? '',
        value: strOf(e.value) ?? '',
        ...(style ? { style } : {}),
        ...(isRecord(e.confirm)
          ? {
              confirm: {
                title: textOf(e.confirm.title),
                text: textOf(e.confirm.text),
                confirm: textOf(e.confirm.confirm),
                deny: textOf(e.confirm.deny),
              },
            }
          : {}),
      });
    }
  }
  return out;
}

/** Slack's limits for a Home tab: ≤ 100 blocks, header text ≤ 150, section text ≤ 3000, context ≤ 10 elements. */
export function homeBlocksValid(blocks: unknown[]): boolean {
  if (blocks.length > 100) return false;
  return blocks.every((b) => {
    if (!isRecord(b)) return false;
    if (b.type === 'header') return textOf(b.text).length <= 150;
    if (b.type === 'section') return textOf(b.text).length > 0 && textOf(b.text).length <= 3000;
    if (b.type === 'context') return Array.isArray(b.elements) && b.elements.length <= 10 && b.elements.every((e) => textOf(e).length <= 2000);
    return b.type === 'divider' || b.type === 'actions';
  });
}
