import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeProxyStore } from '../../src/sim/index.ts';
import { expectRefused, requestApproved } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;

/** `snap-proxy list|pin|unpin|connect` through Slack, against a simulated cluster with a Snap Store Proxy host. */
describe('snap-proxy verbs through Slack', () => {
  let h: Harness;
  const commandCount = () => [...h.sims.values()].reduce((n, s) => n + s.commandLog.length, 0);
  const proxyState = () => h.sim.snapProxy!.proxy;
  const since = (from: number) => h.sim.commandLog.slice(from).map((c) => `${c.node}: ${c.sudo ? 'sudo ' : ''}${c.argv.join(' ')}`);
  const followUp = (prefix: string) => h.slack.waitFor(() => h.slack.responses.find((r) => typeof r.body.text === 'string' && r.body.text.startsWith(prefix)));

  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        { name: 'prod', channel: 'C0PROD00001', snapProxy: true },
        { name: 'stage', channel: 'C0STAGE0001' },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => {
    for (const sim of h.sims.values()) sim.clearFaults();
  });

  it('refuses bad requests before any SSH command, naming what is wrong', async () => {
    const before = commandCount();
    const cases: Array<[string, RegExp]> = [
      ['snap-proxy pin 1.23/stable', /'1\.23\/stable' needs a revision: write <channel>=<revision>, such as 1\.23\/stable=2948/],
      ['snap-proxy pin 1.23/stabel=2906', /unknown risk 'stabel'; use stable, candidate, beta or edge/],
      ['snap-proxy pin 1.23/stable=abc', /'abc' is not a snap revision/],
      ['snap-proxy pin 1.23/stable=02906', /'02906' is not a snap revision/],
      ['snap-proxy pin 1.23/stable=2906;reboot', /';' in '1\.23\/stable=2906;reboot' is not allowed: shell metacharacters/],
      ['snap-proxy pin 1.23/stable/hotfix=2906', /not branches/],
      ['snap-proxy unpin 1.23', /add the risk to '1\.23'/],
      ['snap-proxy connect k8s-9', /unknown node 'k8s-9' in cluster prod; its nodes are k8s-1, k8s-2, k8s-3/],
      ['snap-proxy connect $(reboot)', /'\$' in '\$\(reboot\)' is not allowed/],
      ['snap-proxy connect K8S_1', /'K8S_1' is not a node name/],
      ['snap-proxy pinn 1.23/stable=2906', /unknown `snap-proxy` sub-command 'pinn'; did you mean 'snap-proxy pin'\?/],
      ['snap-proxy', /`snap-proxy` needs a sub-command: `snap-proxy` takes list, pin, unpin, connect/],
      ['snap-proxy list --cluster stage', /cluster stage has no Snap Store Proxy: add `snapProxy: \{ host: <address>, port: 22 \}`/],
      ['snap-proxy pin stable=2906 --cluster stage', /cluster stage has no Snap Store Proxy/],
      ['snap-proxy connect k8s-1 --cluster stage', /cluster stage has no Snap Store Proxy/],
    ];
    await expectRefused(h, cases);
    expect(commandCount()).toBe(before);
  });

  it('--dry-run shows the proxy commands and runs nothing', async () => {
    const before = commandCount();
    const pin = await h.command(alice, 'snap-proxy pin 1.23/stable=2906 --dry-run');
    expect(pin.text).toBe('Dry run of `snap-proxy pin 1.23/stable=2906 --dry-run` on prod: nothing will run.');
    expect(pin.full).toContain('sudo snap-proxy override microk8s 1.23/stable=2906');
    const connect = await h.command(alice, 'snap-proxy connect k8s-1 --dry-run');
    expect(connect.full).toContain('sudo snap ack <tmp>');
    expect(connect.full).toContain('sudo snap set core proxy.store=<store id>');
    const unpin = await h.command(alice, 'snap-proxy unpin 1.23/stable --dry-run');
    expect(unpin.full).toContain('sudo snap-proxy delete-override microk8s 1.23/stable');
    expect(commandCount()).toBe(before);
  });

  it('snap-proxy list reads the proxy and the nodes: no pins, nobody connected', async () => {
    const answer = await h.command(bob, 'snap-proxy list');
    expect(answer.text).toContain('Reading the Snap Store Proxy of prod');
    const r = await followUp('Snap Store Proxy of prod');
    expect(r.body.text).toBe('Snap Store Proxy of prod: no overrides: every channel follows upstream; 0/3 node(s) use it');
    expect(JSON.stringify(r.body.blocks)).toContain('k8s-1: public Snap Store');
  });

  it('a pin with no node using the proxy yet says so; unpin puts it back', async () => {
    const id = await requestApproved(h, 'snap-proxy pin 1.22/edge=2645');
    expect(h.thread(id).some((m) => m.text.startsWith('✅') && m.text.includes('check the pin from a node') && m.text.includes('no node uses the proxy yet'))).toBe(true);
    expect(proxyState().overrides.get('1.22/edge')?.revision).toBe(2645);
    await requestApproved(h, 'snap-proxy unpin 1.22/edge');
    expect(proxyState().overrides.size).toBe(0);
  });

  it('connect points a node at the proxy: store assertion acked from a temp file, proxy.store set and checked', async () => {
    const from = h.sim.commandLog.length;
    const id = await requestApproved(h, 'snap-proxy connect k8s-1');
    const storeId = proxyState().storeId;
    expect(nodeProxyStore(h.sim.state.node('k8s-1'))).toBe(storeId);
    expect(nodeProxyStore(h.sim.state.node('k8s-2'))).toBeUndefined();
    const cmds = since(from);
    expect(cmds).toEqual(
      expect.arrayContaining([
        'snap-proxy: sudo snap-proxy status',
        'snap-proxy: sudo snap-proxy config proxy.domain',
        'k8s-1: snap get core proxy.store',
        'k8s-1: mktemp',
        expect.stringMatching(/^k8s-1: curl -sSfL -o \/tmp\/tmp\.\w{10} http:\/\/proxy\.internal\/v2\/auth\/store\/assertions$/),
        expect.stringMatching(/^k8s-1: sudo snap ack \/tmp\/tmp\.\w{10}$/),
        `k8s-1: sudo snap set core proxy.store=${storeId}`,
      ]),
    );
    // the temporary file is gone again
    expect([...h.sim.state.node('k8s-1').fs.files.keys()].some((p) => p.startsWith('/tmp/tmp.'))).toBe(false);
    const thread = h.thread(id).map((m) => m.text);
    expect(thread.some((t) => t.startsWith('✅') && t.includes(`check k8s-1 uses the Snap Store Proxy`) && t.includes(`proxy.store = ${storeId}`))).toBe(true);

    // again: already connected, no approval, nothing changed
    const again = await h.command(alice, 'snap-proxy connect k8s-1');
    await h.waitState(again.jobId!, 'succeeded');
    expect(h.thread(again.jobId!).some((m) => m.text.includes('k8s-1 already uses the Snap Store Proxy'))).toBe(true);
  });

  it('pin then an upgrade of the connected node lands on the pinned revision, not upstream', async () => {
    const id = await requestApproved(h, 'snap-proxy pin 1.23/stable=2906');
    expect(proxyState().overrides.get('1.23/stable')).toEqual({ revision: 2906, arch: 'amd64' });
    expect(h.thread(id).some((m) => m.text.startsWith('✅') && m.text.includes('pin 1.23/stable to revision 2906') && m.text.includes('upstream serves 2948'))).toBe(true);
    // seed step 3: a node that uses the proxy sees the pinned revision in `snap info`
    expect(h.thread(id).some((m) => m.text.startsWith('✅') && m.text.includes('snap info microk8s on k8s-1: 1.23/stable → 2906'))).toBe(true);

    // the same pin again: nothing to approve, nothing run on the proxy but the read
    const from = h.sim.commandLog.length;
    const again = await h.command(alice, 'snap-proxy pin 1.23/stable=2906');
    await h.waitState(again.jobId!, 'succeeded');
    expect(since(from)).toEqual(['snap-proxy: sudo snap-proxy list-overrides microk8s']);

    const list = await h.command(bob, 'snap-proxy list');
    expect(list.status).toBe(200);
    const r = await followUp('Snap Store Proxy of prod: 1.23/stable → 2906');
    expect(r.body.text).toBe('Snap Store Proxy of prod: 1.23/stable → 2906 (upstream 2948); 1/3 node(s) use it');
    expect(JSON.stringify(r.body.blocks)).toContain('k8s-1: uses the proxy');

    await requestApproved(h, 'upgrade k8s-1 1.23/stable');
    expect(h.sim.state.node('k8s-1').revision).toBe(2906);
    expect(h.sim.state.node('k8s-1').version).toBe('v1.23.1');
  });

  it('unpin: the channel follows upstream again; unpinning twice is a no-op', async () => {
    const id = await requestApproved(h, 'snap-proxy unpin 1.23/stable');
    expect(proxyState().overrides.size).toBe(0);
    expect(h.thread(id).some((m) => m.text.startsWith('✅') && m.text.includes('was 2906; follows upstream (revision 2948)'))).toBe(true);
    const again = await h.command(alice, 'snap-proxy unpin 1.23/stable');
    await h.waitState(again.jobId!, 'succeeded');
    expect(h.thread(again.jobId!).some((m) => m.text.includes('1.23/stable is not pinned on the proxy'))).toBe(true);
  });

  it('a proxy that refuses the override fails the job and says what the proxy holds now', async () => {
    h.sim.inject({ node: 'snap-proxy', match: 'snap-proxy override', kind: 'fail', exitCode: 1, stderr: 'error: revision 4242 of snap "microk8s" not found\n' });
    const id = await requestApproved(h, 'snap-proxy pin latest/edge=4242', 'failed');
    const last = h.thread(id).map((m) => m.text).join('\n');
    expect(last).toContain('revision 4242 of snap "microk8s" not found');
    expect(last).toContain('Snap Store Proxy: no overrides: every channel follows upstream');
    expect(proxyState().overrides.size).toBe(0);
  });
});
