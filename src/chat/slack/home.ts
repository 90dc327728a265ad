/**
 * HomeView → a Block Kit `home` view within Slack's limits: 100 blocks, header text
 * ≤ 150, section text ≤ 3000, context ≤ 2000. Per cluster: header, sections, context,
 * divider; clusters that do not fit are named in a last context block.
 */
import { randomBytes } from 'node:crypto';
import type { HomeView } from '../port.ts';
import { LIMITS, splitBody, truncate } from './render.ts';

export const HOME_LIMITS = { blocks: 100, header: 150 } as const;

type HomeBlock =
  | { type: 'header'; block_id: string; text: { type: 'plain_text'; text: string; emoji: true } }
  | { type: 'section'; block_id: string; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; block_id: string; elements: { type: 'mrkdwn'; text: string }[] }
  | { type: 'divider'; block_id: string };

export interface RenderedHome {
  type: 'home';
  blocks: HomeBlock[];
}

export function renderHome(view: HomeView): RenderedHome {
  const prefix = `home-${randomBytes(4).toString('hex')}`;
  let n = 0;
  const id = () => `${prefix}-${n++}`;
  const header = (text: string): HomeBlock => ({ type: 'header', block_id: id(), text: { type: 'plain_text', text: truncate(text, HOME_LIMITS.header), emoji: true } });
  const context = (text: string): HomeBlock => ({ type: 'context', block_id: id(), elements: [{ type: 'mrkdwn', text: truncate(text, LIMITS.contextText) }] });
  const blocks: HomeBlock[] = [header(view.title)];
  const room = HOME_LIMITS.blocks - 1; // keep one block for "… not shown"
  const left: string[] = [];
  for (const s of view.sections) {
    const part: HomeBlock[] = [
      { type: 'divider', block_id: id() },
      header(s.header),
      ...splitBody(s.body, LIMITS.sectionText).map((text): HomeBlock => ({ type: 'section', block_id: id(), text: { type: 'mrkdwn', text } })),
      ...(s.context ? [context(s.context)] : []),
    ];
    if (left.length > 0 || blocks.length + part.length > room) left.push(s.header);
    else blocks.push(...part);
  }
  if (left.length > 0) blocks.push(context(`Not shown (the Home tab holds ${HOME_LIMITS.blocks} blocks): ${left.join(', ')}. Use \`/mk8s status --cluster NAME\`.`));
  return { type: 'home', blocks };
}
