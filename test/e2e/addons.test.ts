/**
 * What an upgrade leaves behind (issue 10), through Slack against simulated clusters: the
 * 1.26 → 1.27 rollout reports Calico behind, `upgrade-cni` moves it keeping a custom pod CIDR
 * (and `--restore` puts it back); a refresh that auto-upgraded a 3.21 Calico and reset the CIDR
 * is flagged by `addons`; `addon-refresh hostpath-storage` keeps the PV data; `addon-refresh dns`
 * waits for a destructive approval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STORAGE } from '../../src/sim/addons.ts';
import { simCalico } from '../../src/sim/calico.ts';
import type { FakeResponse } from '../support/fake-slack.ts';
import { approveGate, controlPlanes, words } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const { alice, bob } = USERS;
const CNI = 'C0CNI000001';
const AUTO = 'C0AUTO00001';
const ADD = 'C0ADDON0001';
const CUSTOM_CIDR = '10.100.0.0/16';

type Block = { text?: { text?: string } };
const bodyText = (r: FakeResponse) => `${String(r.body.text)}\n${((r.body.blocks ?? []) as Block[]).map((b) => b.text?.text ?? '').join('\n')}`;

/** The CALICO_IPV4POOL_CIDR value of a manifest's text (the line after its name). */
function poolCidr(text: string | undefined): string | undefined {
  const lines = (text ?? '').split('\n');
  const i = lines.findIndex((l) => l.trim() === '- name: CALICO_IPV4POOL_CIDR');
  return i < 0 ? undefined : /value: "?([^"]*)"?$/.exec(lines[i + 1]?.trim() ?? '')?.[1];
}

describe('add-ons and the Calico CNI after an upgrade', () => {
  let h: Harness;
  /** Asks a read-only verb, returns its follow-up's text (plain text and blocks). */
  async function read(text: string, channel: string, expected: RegExp): Promise<string> {
    const before = h.slack.responses.length;
    await h.command(alice, text, channel);
    const r = await h.slack.waitFor(() => h.slack.responses.slice(before).find((x) => typeof x.body.text === 'string' && expected.test(x.body.text)), 20_000);
    return bodyText(r);
  }
  /** alice asks in `channel`, bob approves the plan; the job must reach `state`. */
  async function approved(text: string, channel: string, state = 'succeeded'): Promise<string> {
    const { jobId, text: ack } = await h.command(alice, text, channel);
    expect(ack, text).toMatch(/^Queued as job \d+/);
    await h.waitState(jobId!, 'awaiting approval');
    await approveGate(h, jobId!, state);
    return jobId!;
  }
  const last = (jobId: string) => h.thread(jobId).map((m) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`).pop() ?? '';

  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        { name: 'cni', channel: CNI, nodes: controlPlanes(3, { channel: '1.26/stable' }), policy: { readyTimeout: '2s' } },
        { name: 'auto', channel: AUTO, nodes: controlPlanes(3, { channel: '1.24/stable' }) },
        { name: 'add', channel: ADD, nodes: controlPlanes(1, { channel: '1.26/stable' }) },
      ],
    });
    for (const name of ['cni', 'auto']) {
      const calico = simCalico(h.sims.get(name)!.state);
      calico.customise((t) => t.replace('value: "10.1.0.0/16"', `value: "${CUSTOM_CIDR}"`));
    }
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('reports Calico behind after a 1.26 → 1.27 rollout, and upgrade-cni moves it keeping the pod CIDR', async () => {
    const sim = h.sims.get('cni')!;
    const calico = simCalico(sim.state);
    expect(calico.image()).toBe('docker.io/calico/node:v3.23.5');

    const rollout = await approved('upgrade-cluster 1.27/stable --pause-after none', CNI);
    // The last message says what the upgrade did not upgrade.
    const report = last(rollout);
    expect(report).toContain('Calico v3.23.5 is running; 1.27 ships v3.25.0 — `upgrade-cni` to move');
    expect(report).toMatch(/add-ons not upgraded: core\/dns 1\.10\.1/);
    expect(report).toContain(`CALICO_IPV4POOL_CIDR=${CUSTOM_CIDR}`);
    expect(calico.image()).toBe('docker.io/calico/node:v3.23.5');

    // The dry run shows the new manifest as a diff; nothing is written.
    const from = sim.commandLog.length;
    const preview = await read('upgrade-cni --dry-run', CNI, /^Dry run of upgrade-cni/);
    expect(preview).toContain('Calico v3.23.5 → v3.25.0');
    expect(preview).toContain('- DaemonSet/calico-node calico-node: docker.io/calico/node:v3.23.5');
    expect(preview).toContain('+ DaemonSet/calico-node calico-node: docker.io/calico/node:v3.25.0');
    expect(preview).toContain(`env CALICO_IPV4POOL_CIDR=${CUSTOM_CIDR}   (kept)`);
    expect(sim.commandLog.slice(from).some((c) => /apply|cp |mv /.test(words(c)))).toBe(false);

    // upgrade-cni waits for its approval, then backs up, writes, applies and waits for the rollout.
    const { jobId } = await h.command(alice, 'upgrade-cni', CNI);
    expect(jobId).toBeDefined();
    await h.waitState(jobId!, 'awaiting approval');
    expect(sim.commandLog.slice(from).some((c) => words(c).startsWith('microk8s kubectl apply'))).toBe(false);
    const gate = h.thread(jobId!).find((m) => m.buttons.some((b) => b.label === 'Approve'));
    expect(JSON.stringify(gate?.blocks ?? [])).toContain('Upgrade Calico from v3.23.5 to v3.25.0');
    await approveGate(h, jobId!, 'succeeded');
    expect(calico.image()).toBe('docker.io/calico/node:v3.25.0');
    for (const node of ['k8s-1', 'k8s-2', 'k8s-3']) {
      const cni = calico.cniYaml(node);
      expect(cni, node).toContain('image: docker.io/calico/node:v3.25.0');
      expect(poolCidr(cni), node).toBe(CUSTOM_CIDR);
      // the file came over SFTP and was moved into place, never echoed
      expect(sim.commandLog.slice(from).some((c) => c.node === node && words(c).startsWith('mv -f /var/snap/microk8s/current/args/cni-network/cni.yaml.mk8s-next'))).toBe(true);
    }
    const pods = sim.state.pods.filter((p) => p.app === 'calico-node');
    expect(pods.map((p) => p.image)).toEqual(pods.map(() => 'docker.io/calico/node:v3.25.0'));
    expect(sim.commandLog.slice(from).filter((c) => words(c).startsWith('microk8s kubectl apply -f /var/snap/microk8s/current/args/cni-network/cni.yaml')).length).toBe(1);
    expect(sim.commandLog.slice(from).some((c) => words(c).startsWith('microk8s kubectl rollout status ds/calico-node -n kube-system --timeout='))).toBe(true);
    expect(sim.commandLog.slice(from).some((c) => /\becho\b/.test(words(c)))).toBe(false);
    expect(last(jobId!)).toContain('upgrade-cni --restore');

    // Up to date now: `addons` says so, and upgrade-cni refuses (nothing newer to apply).
    const now = await read('addons', CNI, /^add-ons and CNI of cni/);
    expect(now).toContain('Calico v3.25.0 is running (this release ships v3.25.0): up to date');
    const again = await h.command(alice, 'upgrade-cni', CNI);
    await h.waitState(again.jobId!, 'failed');
    expect(last(again.jobId!)).toContain('is not newer than the running one (v3.25.0): nothing to upgrade');

    // --restore puts the previous cni.yaml back and rolls calico-node back to it.
    const restore = await approved('upgrade-cni --restore', CNI);
    expect(calico.image()).toBe('docker.io/calico/node:v3.23.5');
    expect(calico.cniYaml('k8s-2')).toContain('image: docker.io/calico/node:v3.23.5');
    expect(last(restore)).toContain('calico-node runs v3.23.5 again');
  }, 120_000);

  it('upgrade-cni refuses while a node is NotReady, and a rollout that stalls ends at its bound with the way back', async () => {
    const sim = h.sims.get('cni')!;
    const calico = simCalico(sim.state);
    sim.state.node('k8s-3').ready = false;
    const refused = await read('upgrade-cni --dry-run', CNI, /^Dry run of upgrade-cni/);
    expect(refused).toContain('k8s-3 is NotReady: the calico-node rollout would stall there');
    sim.state.node('k8s-3').ready = true;

    // k8s-3 goes NotReady while the apply runs: its calico-node pod is never replaced.
    sim.inject({ node: 'k8s-1', match: 'kubectl apply -f', kind: 'delay', ms: 400, times: 1 });
    const { jobId } = await h.command(alice, 'upgrade-cni', CNI);
    await h.waitState(jobId!, 'awaiting approval');
    expect(await h.click(bob, await h.waitButton(jobId!, 'Approve'))).toBe(200);
    await h.slack.waitFor(() => h.thread(jobId!).find((m) => m.text.includes('apply cni.yaml from k8s-1')), 20_000);
    sim.state.node('k8s-3').ready = false;
    await h.waitState(jobId!, 'failed', 30_000);
    const from = sim.commandLog.length;
    expect(h.thread(jobId!).map((m) => m.text).join('\n')).toMatch(/calico-node did not finish rolling out within 2 s: .*`upgrade-cni --restore` puts back/s);
    expect(sim.commandLog.some((c) => words(c) === 'microk8s kubectl rollout status ds/calico-node -n kube-system --timeout=2s')).toBe(true);
    expect(calico.image()).toBe('docker.io/calico/node:v3.25.0');

    sim.state.node('k8s-3').ready = true;
    await approved('upgrade-cni --restore', CNI);
    expect(calico.image()).toBe('docker.io/calico/node:v3.23.5');
    expect(sim.state.pods.filter((p) => p.app === 'calico-node').map((p) => p.image)).toEqual(['k8s-1', 'k8s-2', 'k8s-3'].map(() => 'docker.io/calico/node:v3.23.5'));
    expect(sim.commandLog.slice(from).some((c) => words(c).startsWith('cp -p /var/snap/microk8s/current/args/cni-network/cni.yaml.mk8s-'))).toBe(true);
  }, 120_000);

  it('flags a refresh that auto-upgraded Calico 3.21 and reset the pod CIDR, and honours no-manage-calico', async () => {
    const sim = h.sims.get('auto')!;
    const calico = simCalico(sim.state);
    expect(calico.image()).toBe('docker.io/calico/node:v3.21.4');
    calico.lockNoManage('k8s-2');

    // k8s-1's refresh to 1.25 runs MicroK8s's own Calico upgrade: cni.yaml replaced, the CIDR back to 10.1.0.0/16.
    const up = await approved('upgrade k8s-1 1.25/stable', AUTO);
    expect(calico.image()).toBe('docker.io/calico/node:v3.23.3');
    expect(poolCidr(calico.cniYaml('k8s-1'))).toBe('10.1.0.0/16');
    expect(last(up)).toContain('k8s-1: a refresh replaced cni.yaml (v3.21.4 → v3.23.3) and dropped CALICO_IPV4POOL_CIDR');

    // With the lock, k8s-2's refresh leaves its cni.yaml alone.
    await approved('upgrade k8s-2 1.25/stable', AUTO);
    expect(poolCidr(calico.cniYaml('k8s-2'))).toBe(CUSTOM_CIDR);
    expect(calico.cniYaml('k8s-2')).toContain('image: docker.io/calico/node:v3.21.4');

    const report = await read('addons', AUTO, /^add-ons and CNI of auto/);
    expect(report).toContain(`CALICO_IPV4POOL_CIDR was ${CUSTOM_CIDR}, now 10.1.0.0/16`);
    expect(report).toContain('k8s-1: MicroK8s upgraded Calico on a refresh and replaced cni.yaml (kept as cni.yaml.backup, v3.21.4)');
    expect(report).toMatch(/k8s-2: revision ships v3\.23\.3; cni\.yaml has v3\.21\.4; MicroK8s does not manage Calico here/);
    expect(report).toContain('k8s-2: cni.yaml (v3.21.4) is older than the running Calico (v3.23.3)');
    expect(report).toMatch(/k8s-3: revision ships v3\.21\.4; cni\.yaml has v3\.21\.4; MicroK8s manages Calico here: a refresh to 1\.25\+ replaces this 3\.21 cni\.yaml/);
  }, 120_000);

  it('addon-refresh hostpath-storage disables and enables it without ever deleting the PV data', async () => {
    const sim = h.sims.get('add')!;
    sim.state.addons.add('hostpath-storage');
    const node = sim.state.node('k8s-1');
    const pv = `${DEFAULT_STORAGE}/default-data-claim-pvc-6d1a/data.db`;
    node.fs.mkdirp(`${DEFAULT_STORAGE}/default-data-claim-pvc-6d1a`, true);
    node.fs.files.set(pv, { data: Buffer.from('precious'), owner: 'root', mode: 0o644, mtimeMs: Date.now() });
    const from = sim.commandLog.length;

    const { jobId } = await h.command(alice, 'addon-refresh hostpath-storage', ADD);
    await h.waitState(jobId!, 'awaiting approval');
    const approve = h.gateButton(jobId!, 'Approve');
    expect(approve.confirm?.title).toBe('Approve a destructive step?');
    expect(JSON.stringify(h.thread(jobId!).map((m) => m.blocks))).toContain('PV data under /var/snap/microk8s/common/default-storage is kept');
    await approveGate(h, jobId!, 'succeeded');

    expect(node.fs.files.get(pv)?.data.toString()).toBe('precious');
    expect(sim.state.addons.has('hostpath-storage')).toBe(true);
    const xables = sim.commandLog.slice(from).map(words).filter((w) => /^microk8s (?:enable|disable)/.test(w));
    expect(xables).toEqual(['microk8s disable hostpath-storage', 'microk8s enable hostpath-storage']);
    expect(sim.commandLog.slice(from).some((c) => c.command.includes('destroy-storage'))).toBe(false);
    expect(h.thread(jobId!).map((m) => m.text).join('\n')).toContain('PV data kept at /var/snap/microk8s/common/default-storage');
  }, 60_000);

  it('addon-refresh dns waits for a destructive approval before disabling DNS', async () => {
    const sim = h.sims.get('add')!;
    const from = sim.commandLog.length;
    const { jobId } = await h.command(alice, 'addon-refresh dns', ADD);
    await h.waitState(jobId!, 'awaiting approval');
    const gate = h.thread(jobId!).find((m) => m.buttons.some((b) => b.label === 'Approve'));
    expect(JSON.stringify(gate?.blocks ?? [])).toContain('Destructive');
    expect(JSON.stringify(gate?.blocks ?? [])).toContain('cluster DNS is down for every pod');
    expect(h.gateButton(jobId!, 'Approve').confirm).toBeDefined();
    // Nothing was disabled while it waits.
    expect(sim.commandLog.slice(from).some((c) => words(c).startsWith('microk8s disable'))).toBe(false);
    expect(sim.state.addons.has('dns')).toBe(true);
    // The requester cannot approve it (two-person rule); another approver does.
    expect(await h.click(alice, h.gateButton(jobId!, 'Approve'))).toBe(200);
    expect(sim.commandLog.slice(from).some((c) => words(c).startsWith('microk8s disable'))).toBe(false);
    expect(await h.click(bob, h.gateButton(jobId!, 'Approve'))).toBe(200);
    await h.waitState(jobId!, 'succeeded', 30_000);
    expect(sim.state.addons.has('dns')).toBe(true);
    expect(sim.state.pods.some((p) => p.app === 'coredns')).toBe(true);
  }, 60_000);

  it('refuses what it must not refresh, before anything is queued', async () => {
    const cases: Array<[string, RegExp]> = [
      ['addon-refresh hostpath-storage:destroy-storage', /passes no add-on arguments \(such as hostpath-storage:destroy-storage\)/],
      ['addon-refresh ha-cluster', /refuses ha-cluster .*the high-availability datastore/],
      ['addon-refresh mayastor', /refuses mayastor .*all data on Mayastor volumes/],
      ['addon-refresh helm3', /comes pre-installed/],
      ['addon-refresh dns,ingress', /one add-on per command/],
      ['addon-refresh "dns;reboot"', /shell metacharacters and quotes are refused/],
      ['addon-refresh ../dns', /is not an add-on name/],
      ['addon-refresh dns ingress', /too many arguments \('ingress'\); usage: `addon-refresh <addon>`/],
    ];
    for (const [text, expected] of cases) {
      const answer = await h.command(alice, text, ADD);
      expect(answer.jobId, text).toBeUndefined();
      expect(answer.text, text).toMatch(expected);
    }
  });
});
