import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/chat/slack/render.ts';
import { CHANNELS, type SimCluster, type SimNode } from '../../src/sim/index.ts';
import type { FakeResponse } from '../support/fake-slack.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const HA = 'C0HA0000001';
const BIG = 'C0BIG000001';

/** A revision served by another channel lands on the node (an auto-refresh, or a hand-run refresh). */
function swapRevision(node: SimNode, servedBy: string, tracking: string): void {
  const rel = CHANNELS[servedBy]!;
  node.sequence = [...node.sequence, { revision: rel.revision, version: rel.version, kubeletVersion: rel.kubeletVersion, channel: servedBy }].slice(-2);
  node.current = node.sequence.length - 1;
  node.tracking = tracking;
}

type Block = { type: string; text?: { text: string } };

function bodyText(r: FakeResponse): string {
  return ((r.body.blocks ?? []) as Block[]).map((b) => b.text?.text ?? '').join('\n');
}

describe('status: HA roles, failure domains, holds and drift', () => {
  let h: Harness;
  let ha: SimCluster;

  /** Asks for `text`, returns the follow-up (plain text and the blocks' text). */
  async function status(text: string, channel = HA): Promise<{ text: string; body: string; raw: FakeResponse }> {
    const before = h.slack.responses.length;
    const ack = await h.command(alice, text, channel);
    expect(ack.text).toContain('Reading the state');
    const raw = await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => typeof r.body.text === 'string' && /^(status|drift check) of /.test(r.body.text)));
    return { text: String(raw.body.text), body: bodyText(raw), raw };
  }
  const run = async (text: string, channel = HA) => {
    const r = await h.command(alice, text, channel);
    expect(r.jobId, r.text).toBeDefined();
    return r.jobId!;
  };
  const row = (body: string, node: string) => body.split('\n').find((l) => new RegExp(`^!?${node}\\s`).test(l)) ?? '';

  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'ha',
          channel: HA,
          policy: { approvePlan: false },
          nodes: [
            { name: 'cp1', failureDomain: 1 },
            { name: 'cp2', failureDomain: 2 },
            { name: 'cp3', failureDomain: 3 },
            { name: 'cp4', failureDomain: 1 },
            { name: 'cp5', failureDomain: 2 },
            { name: 'w1', role: 'worker' },
            { name: 'w2', role: 'worker' },
          ],
        },
        {
          name: 'big',
          channel: BIG,
          nodes: [
            { name: 'k8s-1' },
            { name: 'k8s-2' },
            { name: 'k8s-3' },
            ...Array.from({ length: 19 }, (_, i) => ({ name: `worker-${String(i + 1).padStart(2, '0')}`, role: 'worker' as const })),
          ],
        },
      ],
    });
    ha = h.sims.get('ha')!;
    ha.state.node('cp5').dqliteRole = 'spare';
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('shows HA, the datastore roles by node name, and each node\'s role, failure domain, version, revision, channel, Ready, cordoned and hold', async () => {
    ha.state.node('w2').cordoned = true;
    const hold = await run('hold w1 2h');
    await h.waitState(hold, 'succeeded');
    const from = ha.commandLog.length;

    const s = await status('status');
    expect(s.text).toBe('status of ha: high-availability: yes; no drift');
    expect(s.body).toContain('high-availability: yes');
    expect(s.body).toContain('datastore voters: cp1 cp2 cp3 · standby: cp4 · spare: cp5');
    expect(s.body).toMatch(/NODE\s+ROLE\s+DATASTORE\s+FD\s+VERSION\s+REV\s+CHANNEL\s+READY\s+CORDONED\s+HOLD/);
    expect(row(s.body, 'cp2')).toMatch(/^cp2\s+control-plane\s+voter\s+2\s+v1\.22\.3\s+2551\s+1\.22\/stable\s+Ready\s+no\s+-$/);
    expect(row(s.body, 'cp3')).toMatch(/^cp3\s+control-plane\s+voter\s+3\s/);
    expect(row(s.body, 'cp4')).toMatch(/^cp4\s+control-plane\s+standby\s+1\s/);
    expect(row(s.body, 'cp5')).toMatch(/^cp5\s+control-plane\s+spare\s+2\s/);
    expect(row(s.body, 'w1')).toMatch(/^w1\s+worker\s+-\s+-\s+v1\.22\.3\s+2551\s+1\.22\/stable\s+Ready\s+no\s+until 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(row(s.body, 'w2')).toMatch(/^w2\s+worker\s+-\s+-\s+.*\s+Ready\s+yes\s+-$/);
    expect(s.body).toContain('No mutating job holds this cluster.');
    // The failure domain is read from args/ha-conf on control-plane nodes only, the hold's end from snap info.
    const sent = ha.commandLog.slice(from);
    const haConf = sent.filter((c) => c.argv.join(' ') === 'cat /var/snap/microk8s/current/args/ha-conf').map((c) => c.node).toSorted();
    expect(haConf).toEqual(['cp1', 'cp2', 'cp3', 'cp4', 'cp5']);
    expect(sent.filter((c) => c.argv.join(' ') === 'snap info --abs-time microk8s').map((c) => c.node)).toEqual(['w1']);
    ha.state.node('w2').cordoned = false;
  });

  it('flags drift made behind the bot\'s back, and not the bot\'s own changes', async () => {
    const all = await run('hold all');
    await h.waitState(all, 'succeeded');
    const upgrade = await run('upgrade cp4 1.23/stable');
    await h.waitState(upgrade, 'succeeded', 30_000);
    const clean = await status('status');
    expect(clean.text).toBe('status of ha: high-availability: yes; no drift');
    expect(row(clean.body, 'cp4')).toMatch(/^cp4\s+control-plane\s+standby\s+1\s+v1\.23\.3\s+2948\s+1\.23\/stable\s+Ready\s+no\s+forever$/);

    // Behind the bot's back: an auto-refresh on cp1, a channel switch on cp2, a hold removed on w1.
    swapRevision(ha.state.node('cp1'), '1.22/candidate', '1.22/stable');
    swapRevision(ha.state.node('cp2'), '1.22/candidate', '1.22/candidate');
    ha.state.node('w1').hold = undefined;

    const s = await status('status');
    expect(s.text).toBe('status of ha: high-availability: yes; drift on cp1, cp2, w1');
    expect(s.body).toContain(`⚠️ drift on cp1: revision 2551 → 2688 (v1.22.4) — changed outside the bot since job ${all} (hold)`);
    expect(s.body).toContain('⚠️ drift on cp2: revision 2551 → 2688 (v1.22.4); channel 1.22/stable → 1.22/candidate');
    expect(s.body).toContain('⚠️ drift on w1: hold gone (set forever)');
    expect(row(s.body, 'cp1')).toMatch(/^!cp1\s/);
    expect(row(s.body, 'cp3')).toMatch(/^cp3\s/);

    const from = ha.commandLog.length;
    const d = await status('status --drift');
    expect(d.text).toBe('drift check of ha: drift on cp1, cp2, w1');
    expect(row(d.body, 'cp3')).toMatch(/^cp3\s+2551 1\.22\/stable forever\s+2551 1\.22\/stable forever\s+job \d+ hold, .* UTC\s+none$/);
    expect(row(d.body, 'cp4')).toMatch(/^cp4\s+2948 1\.23\/stable forever\s+2948 1\.23\/stable forever\s+job \d+ upgrade, .*\s+none$/);
    expect(row(d.body, 'w1')).toMatch(/^w1\s+2551 1\.22\/stable -\s+2551 1\.22\/stable forever\s+.*hold gone \(set forever\)$/);
    expect(d.body).toContain('3 node(s) drifted.');
    // Only snap reads: no kubectl, no microk8s status, no ha-conf.
    expect(ha.commandLog.slice(from).every((c) => c.argv[0] === 'snap')).toBe(true);

    // The bot's own hold on w1 settles its drift; a hold on cp1 does not hide the refresh made outside the bot.
    const w1 = await run('hold w1');
    await h.waitState(w1, 'succeeded');
    const cp1 = await run('hold cp1');
    await h.waitState(cp1, 'succeeded');
    expect(h.thread(cp1).map((m) => m.text).join('\n')).toContain('⚠️ changed outside the bot: revision 2551 → 2688 (v1.22.4)');
    const after = await status('status --drift');
    expect(after.text).toBe('drift check of ha: drift on cp1, cp2');
  });

  it('answers at once while a job holds the cluster', async () => {
    const id = await run('cordon worker-05', BIG);
    await h.waitState(id, 'awaiting approval');
    const s = await status('status', BIG);
    expect(s.body).toContain(`Held by job ${id} (cordon, awaiting approval).`);
    await h.click(bob, await h.waitButton(id, 'Reject'), undefined, BIG);
    await h.waitState(id, 'rejected');
  });

  it('keeps 22 nodes readable and within Block Kit limits', async () => {
    const s = await status('status', BIG);
    const blocks = (s.raw.body.blocks ?? []) as Block[];
    expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
    for (const b of blocks) {
      if (b.type !== 'section') continue;
      expect(b.text!.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
      expect((b.text!.text.match(/```/g) ?? []).length % 2).toBe(0); // every piece of the table is still a code block
    }
    const rows = s.body.split('\n').filter((l) => /^(k8s|worker)-\d+\s/.test(l));
    expect(rows).toHaveLength(22);
    for (const r of rows) expect(r.length).toBeLessThan(110);
    expect(row(s.body, 'worker-19')).toMatch(/^worker-19\s+worker\s+-\s+-\s+v1\.22\.3\s+2551\s+1\.22\/stable\s+Ready\s+no\s+-$/);
  });
});
