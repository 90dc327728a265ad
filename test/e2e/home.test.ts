/**
 * The App Home tab through Slack (an app_home_opened event → views.publish) with three
 * simulated clusters of 20 nodes each, within Block Kit's limits; refreshed when a job
 * changes state; and the console's `home` printing the same view.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { parseEnv } from '../../src/config/env.ts';
import { loadInventory } from '../../src/config/inventory.ts';
import { controlPlanes, workers } from '../support/e2e.ts';
import { quietLogger, startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob, mallory } = USERS;
const NODES = [...controlPlanes(3), ...workers(17)];
const CLUSTERS = ['east', 'west', 'lab'];
const CHANNEL: Record<string, string> = { east: 'C0EAST00001', west: 'C0WEST00001', lab: 'C0LAB000001' };

function texts(blocks: unknown[]): string[] {
  const out: string[] = [];
  for (const b of blocks as Array<{ type: string; text?: { text: string }; elements?: Array<{ text: string }> }>) {
    if (b.text) out.push(b.text.text);
    for (const e of b.elements ?? []) out.push(e.text);
  }
  return out;
}

describe('the App Home', () => {
  let h: Harness;
  let consoleApp: App | undefined;

  beforeAll(async () => {
    h = await startHarness({
      clusters: CLUSTERS.map((name) => ({
        name,
        channel: CHANNEL[name]!,
        nodes: NODES,
        // one check at start (the next is far off); lab may be viewed by alice and bob only
        extra: { watch: { interval: '10m' }, ...(name === 'lab' ? { rbac: { operators: [alice], approvers: [bob], viewers: [alice, bob] } } : {}) },
      })),
    });
    for (const name of CLUSTERS) {
      await h.slack.waitFor(async () => (await h.app.redis.get(`mk8s:watch:snapshot:${name}`)) !== null, 30_000);
    }
  }, 120_000);
  afterAll(async () => {
    await consoleApp?.stop();
    await h?.stop();
  });

  it('shows every cluster the viewer may see, with HA, nodes, holder, schedule and alerts, within Block Kit limits', async () => {
    expect(await h.homeOpened(alice)).toBe(200);
    const view = await h.slack.waitFor(() => h.slack.homeView(alice));
    // The fake refuses a view over Slack's limits (invalid_blocks), so being stored already says it fits; check anyway.
    expect(view.type).toBe('home');
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    const all = texts(view.blocks);
    for (const t of all) expect(t.length).toBeLessThanOrEqual(3000);
    const joined = all.join('\n');
    for (const name of CLUSTERS) expect(joined).toContain(`Cluster ${name}`);
    for (const n of NODES) expect(joined).toMatch(new RegExp(`\\n${n.name} +v1\\.22\\.3 +Ready +-`));
    expect(joined).toContain('*HA:* yes · voters: k8s-1, k8s-2, k8s-3');
    expect(joined).toContain('*Held by:* no job');
    expect(joined).toContain('*Open alerts:* none');

    // mallory may not view lab
    await h.homeOpened(mallory);
    const hers = texts((await h.slack.waitFor(() => h.slack.homeView(mallory))).blocks).join('\n');
    expect(hers).toContain('Cluster east');
    expect(hers).not.toContain('Cluster lab');
  });

  it('is republished when a job changes state: the job holding the cluster shows', async () => {
    await h.homeOpened(alice);
    const before = h.slack.homePublishes(alice);
    const r = await h.command(alice, 'cordon w3', CHANNEL.east);
    await h.waitState(r.jobId!, 'awaiting approval');
    await h.slack.waitFor(() => h.slack.homePublishes(alice) > before && texts(h.slack.homeView(alice)!.blocks).join('\n').includes(`*Held by:* job ${r.jobId} (cordon, awaiting approval)`), 10_000);
    await h.click(bob, await h.waitButton(r.jobId!, 'Approve'), undefined, CHANNEL.east);
    await h.waitState(r.jobId!, 'succeeded');
    await h.slack.waitFor(() => {
      const east = texts(h.slack.homeView(alice)!.blocks).join('\n').split('Cluster west')[0] ?? '';
      return east.includes('*Held by:* no job');
    }, 10_000);
  });

  it('the console prints the same view with `home`', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (c: Buffer) => (printed += c.toString()));
    const env = { ...h.env, SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '', MK8S_ROLE: 'bot' };
    delete (env as Record<string, string | undefined>).SLACK_BOT_TOKEN;
    delete (env as Record<string, string | undefined>).SLACK_SIGNING_SECRET;
    consoleApp = await startApp({ env: parseEnv(env), inventory: loadInventory(h.env.MK8S_INVENTORY!), logger: quietLogger(), console: { input, output, user: alice, channel: CHANNEL.east } });
    input.write('home\n');
    await h.slack.waitFor(() => printed.includes('Cluster lab') && printed.includes('w17'), 10_000);
    await h.homeOpened(alice);
    const slack = texts((await h.slack.waitFor(() => h.slack.homeView(alice))).blocks).join('\n');
    for (const line of ['mk8s · 3 cluster(s) · 0 open alert(s)', '*HA:* yes · voters: k8s-1, k8s-2, k8s-3', 'Cluster west']) {
      expect(slack).toContain(line);
      expect(printed).toContain(line);
    }
    for (const n of NODES) expect(printed).toMatch(new RegExp(`${n.name} +v1\\.22\\.3 +Ready`));
    input.end();
  });
});
