import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { expectRefused } from '../support/e2e.ts';
import { quietLogger, SIGNING_SECRET, startHarness, USERS, type Harness } from '../support/harness.ts';
import { blockActionsBody, signedRequest, slashCommandBody } from '../support/slack-signing.ts';

const { alice, mallory } = USERS;
const OUTSIDER = 'U0OUTSIDER';

describe('requests through Slack: signatures, bad input, read-only verbs, dry runs', () => {
  let h: Harness;
  let events: string;
  beforeAll(async () => {
    h = await startHarness();
    events = `http://127.0.0.1:${h.app.httpPort}/slack/events`;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const jobCount = async () => Object.values(await h.app.queue.queue.getJobCounts()).reduce((a, b) => a + b, 0);

  it('rejects a bad or stale signature with 401 and queues nothing', async () => {
    const body = slashCommandBody({ user: alice, channel: 'C0PROD00001', text: 'upgrade k8s-1 1.23/stable', responseUrl: h.slack.responseUrl('sig') });
    const bad = await signedRequest(events, body, SIGNING_SECRET, { badSignature: true });
    expect(bad.status).toBe(401);
    const stale = await signedRequest(events, body, SIGNING_SECRET, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    const click = await signedRequest(events, blockActionsBody({ user: alice, channel: 'C0PROD00001', messageTs: '1.1', actionId: 'mk8s.approve', value: '1:g2', responseUrl: h.slack.responseUrl('sig2') }), SIGNING_SECRET, { badSignature: true });
    expect(click.status).toBe(401);
    expect(await jobCount()).toBe(0);
    expect(h.slack.callsOf('chat.postMessage')).toHaveLength(0);
    expect(h.sim.commandLog).toHaveLength(0);
  });

  it('refuses bad input with a clear message, runs nothing on any node and queues nothing', async () => {
    const cases: [string, RegExp][] = [
      ['upgarde k8s-1 1.23/stable', /unknown verb 'upgarde'; did you mean 'upgrade'/],
      ['upgrade k8s-9 1.23/stable', /unknown node 'k8s-9'.*k8s-1, k8s-2, k8s-3/],
      ['upgrade k8s-1 1.23/stabel', /unknown risk 'stabel'; use stable, candidate, beta or edge/],
      ['upgrade k8s-1 1.23/stable --cluster nope', /unknown cluster 'nope'/],
      ['upgrade k8s-1; rm -rf /', /';' in 'k8s-1;' is not allowed/],
      ['upgrade $(reboot) 1.23/stable', /'\$'.*not allowed/],
      ['upgrade `reboot` 1.23/stable', /'`'.*not allowed/],
      ['upgrade k8s-1\n1.23/stable', /line break/],
      ['upgrade k8s-1 1.23/stable --force', /unknown flag|takes/],
      [`upgrade ${'k'.repeat(120)} 1.23/stable`, /too long|at most/],
      ['upgrade k8s-1', /missing <channel>/],
      ['status --dry-run', /dry-run/],
    ];
    await expectRefused(h, cases);
    expect(h.sim.commandLog, 'no command reached a node').toHaveLength(0);
    expect(await jobCount()).toBe(0);
  });

  it('refuses a skip-level upgrade and a downgrade after only a read, naming the allowed channel', async () => {
    const skip = await h.command(alice, 'upgrade k8s-1 1.24/stable');
    expect(skip.text).toContain('next channel is 1.23/stable');
    expect(skip.text).toContain('Nothing was queued');
    const down = await h.command(alice, 'upgrade k8s-1 1.21/stable');
    expect(down.text).toMatch(/downgrade/);
    expect(h.sim.commandLog.every((c) => c.argv.join(' ') === 'snap list microk8s')).toBe(true);
    expect(await jobCount()).toBe(0);
  });

  it('refuses users outside the RBAC lists', async () => {
    const answer = await h.command(OUTSIDER, 'upgrade k8s-1 1.23/stable');
    expect(answer.text).toMatch(/Not allowed: .*operator/);
    expect(await jobCount()).toBe(0);
  });

  it("takes a change only in the cluster's channel; read-only verbs and dry runs answer anywhere", async () => {
    const before = h.sim.commandLog.length;
    const elsewhere = 'C0ELSEWHERE';
    const change = await h.command(alice, 'upgrade k8s-1 1.23/stable', elsewhere);
    expect(change.status).toBe(200);
    expect(change.jobId).toBeUndefined();
    expect(change.text).toContain("`upgrade` changes cluster prod, so it is taken only in that cluster's channel <#C0PROD00001>");
    const drain = await h.command(alice, 'drain k8s-2 --cluster prod', elsewhere);
    expect(drain.text).toContain('<#C0PROD00001>');
    expect(h.sim.commandLog.length, 'nothing ran on a node').toBe(before);
    expect(await jobCount()).toBe(0);
    // The refusal is audited under the cluster.
    const audit = await new AuditLog(h.app.redis, quietLogger()).recent(20, { cluster: 'prod' });
    expect(audit.filter((e) => e.type === 'request' && e.outcome === 'refused' && e.reason?.includes("only in that cluster's channel"))).toHaveLength(2);
    // Read-only answers wherever the user may view the cluster.
    const dry = await h.command(alice, 'upgrade k8s-1 1.23/stable --dry-run', elsewhere);
    expect(dry.text).toContain('Dry run');
    const status = await h.command(alice, 'status', elsewhere);
    expect(status.text).toContain('Reading the state');
    // Names from Object.prototype are no cluster.
    const phantom = await h.command(alice, 'upgrade k8s-1 1.23/stable --cluster constructor');
    expect(phantom.text).toContain("unknown cluster 'constructor'");
  });

  it('prints the plan on --dry-run without running anything', async () => {
    const before = h.sim.commandLog.length;
    const answer = await h.command(alice, 'upgrade k8s-1 1.23/stable --dry-run');
    expect(answer.text).toContain('Dry run');
    for (const part of ['back up the datastore', 'drain k8s-1 --ignore-daemonsets', 'snap refresh microk8s --channel 1.23/stable', 'uncordon k8s-1']) {
      expect(answer.full).toContain(part);
    }
    expect(h.sim.commandLog.length).toBe(before);
    expect(await jobCount()).toBe(0);
  });

  it('answers help, clusters, status and jobs', async () => {
    const help = await h.command(mallory, 'help');
    expect(help.status).toBe(200);
    const status = await h.command(OUTSIDER, 'status'); // viewers: "*"
    expect(status.text).toContain('Reading the state');
    const followUp = await h.slack.waitFor(() => h.slack.responses.find((r) => typeof r.body.text === 'string' && r.body.text.startsWith('status of prod')));
    expect(String(followUp.body.text)).toContain('high-availability: yes');
    const blocks = JSON.stringify(followUp.body.blocks);
    for (const node of ['k8s-1', 'k8s-2', 'k8s-3']) expect(blocks).toContain(node);
    expect(blocks).toContain('v1.22.3');
    expect(blocks).toContain('1.22/stable');
    const jobs = await h.command(alice, 'jobs');
    expect(jobs.text).toMatch(/No jobs on prod yet|recent job/);
    const clusters = await h.command(alice, 'clusters');
    expect(clusters.text).toContain('prod');
  });

  it('serves /healthz and /metrics on PORT', async () => {
    const health = await fetch(`http://127.0.0.1:${h.app.httpPort}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${h.app.httpPort}/metrics`)).text();
    expect(metrics).toContain('mk8s_requests_total');
    expect(metrics).toContain('mk8s_command_ack_seconds');
  });

  it('reports unhealthy while Redis is down, and recovers when it is back', async () => {
    await h.redis.kill();
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${h.app.httpPort}/healthz`)).status, { timeout: 10_000 }).toBe(503);
    // A read that needs Redis says so (not "internal error"): ioredis gives up after its
    // reconnect attempts, later than the ack deadline, so the answer follows on response_url.
    // (Enqueues and job reads wait for Redis instead: their connection retries until it is back.)
    const before = h.slack.responses.length;
    await h.command(USERS.alice, 'audit 5');
    const answer = await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => typeof r.body.text === 'string' && r.body.text.includes('Redis')), 15_000);
    expect(answer.body.text).toBe("The bot's Redis is not answering right now (restarting or failing over); try again in a few seconds. Nothing was queued.");
    await h.redis.restart();
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${h.app.httpPort}/healthz`)).status, { timeout: 15_000 }).toBe(200);
  });
});
