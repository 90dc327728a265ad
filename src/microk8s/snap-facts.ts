/**
 * What a node's snapd says about microk8s, for the bot's node records and the drift check
 * (src/store/node-records.ts, `status`): `snap list microk8s`, and when it says `held`,
 * `snap info --abs-time microk8s` for the hold's end (its `hold:` line: `forever` or an RFC 3339
 * time). Two typed reads of MicroK8sNode, put together.
 */
import type { MicroK8sNode } from './node.ts';

export type SnapFacts = {
  version: string;
  revision: string;
  channel: string;
  held: boolean;
  /** `forever`, an RFC 3339 time, or snapd's text when it is neither; only when held. */
  holdUntil?: string;
};

export async function readSnapFacts(node: MicroK8sNode): Promise<SnapFacts> {
  const snap = await node.snap();
  const facts: SnapFacts = { version: snap.version, revision: snap.revision, channel: snap.tracking, held: snap.notes.includes('held') };
  if (facts.held) {
    const hold = (await node.snapInfo({ absTime: true })).hold;
    if (hold) facts.holdUntil = hold;
  }
  return facts;
}
