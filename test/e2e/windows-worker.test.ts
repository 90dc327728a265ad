/**
 * windows-worker through Slack against a simulated Windows Server 2022 node behind the same
 * ssh2 server (cmd.exe as its shell, PowerShell over -EncodedCommand): add on 1.27 with the
 * reboot of the containerd install resumed and both kubelet flags removed, status, the
 * kubeconfig never leaving the step that wrote it, remove with its destructive approval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCommandRecord } from '../../src/sim/index.ts';
import { dumpRedis } from '../support/redis-dump.ts';
import { approveGate, requestApproved } from '../support/e2e.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const WINDOWS = { user: 'Administrator', fetchCalicoctl: true, rebootTimeout: '10s', podTimeout: '2m' };

describe('windows-worker on 1.27 (k8s-1, k8s-2 and the Windows host w1)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [{ name: 'k8s-1', channel: '1.27/stable' }, { name: 'k8s-2', channel: '1.27/stable' }, { name: 'w1', os: 'windows' }],
          extra: { windows: WINDOWS },
        },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const thread = (id: string) => h.thread(id).map((m) => m.text).join('\n');
  const onW1 = (from: number) => h.sim.commandLog.slice(from).filter((c) => c.node === 'w1');
  const win = () => h.sim.state.node('w1').windows!;
  /** The preflight's script: it reads the registry and the services, and changes nothing. */
  const readsOnly = (c: SimCommandRecord) => (c.decoded ?? '').includes('Get-ItemProperty') && !/Invoke-WebRequest|New-Item|Start-Service|Remove-Item/.test(c.decoded ?? '');
  async function status(): Promise<string> {
    const before = h.slack.responses.length;
    const ack = await h.command(USERS.alice, 'status');
    expect(ack.text).toContain('Reading the state');
    const raw = await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => typeof r.body.text === 'string' && r.body.text.startsWith('status of ')));
    return JSON.stringify(raw.body);
  }

  let addJob = '';
  let from = 0;
  it('adds w1 after the plan approval: strict affinity, containerd across a reboot, Calico, kubelet, Ready, a nanoserver pod', async () => {
    from = h.sim.commandLog.length;
    const { jobId } = await h.command(USERS.alice, 'windows-worker add w1');
    addJob = jobId!;
    const approve = await h.waitButton(addJob, 'Approve');
    // before the approval: reads only (the preflight), nothing installed
    expect(onW1(from).map((c) => readsOnly(c))).toEqual([true]);
    expect(win().services.size).toBe(0);
    const gate = h.thread(addJob).find((m) => m.ts === approve.messageTs)!;
    expect(gate.text).toContain('Add the Windows worker w1 to prod');
    await h.click(USERS.bob, approve);
    await h.waitState(addJob, 'succeeded', 60_000);

    const t = thread(addJob);
    expect(t).toMatch(/✅ preflight: w1 can join as a Windows worker — Kubernetes 1\.27\.5, Calico 3\.25\.0 \(from the calico-node DaemonSet/);
    expect(t).toMatch(/✅ calicoctl: set IPAM strict affinity — calicoctl v3\.25\.0 downloaded to \/usr\/local\/bin\/calicoctl; StrictAffinity true/);
    expect(t).toMatch(/✅ install containerd on w1 \(it may restart\) — installed after 1 restart\(s\)/);
    expect(t).toContain('w1 is restarting');
    expect(t).toMatch(/✅ set InterfaceName and the kubelet flags for 1\.27\.5 — InterfaceName "vEthernet \(Ethernet\)"; removed --logtostderr=true, --container-runtime=remote/);
    expect(t).toMatch(/✅ wait for w1 to be Ready — w1 Ready: Windows Server 2022 Datacenter Evaluation, kernel 10\.0\.20348\.587, kubelet v1\.27\.5/);
    expect(t).toMatch(/✅ verify: a nanoserver pod on w1 reaches the kubernetes service — win-verify-\d+ ran on w1 .*401 Unauthorized/);
    expect(t).not.toContain('KB5040437');

    // the cluster and the host as the seed leaves them
    expect(h.sim.state.nodes.get('w1')?.ready).toBe(true);
    expect(win().reboots).toBe(1);
    expect(win().firewallRules.has('Kubelet-In-TCP')).toBe(true);
    const ps1 = win().fs.text('c:\\CalicoWindows\\kubernetes\\kubelet-service.ps1')!;
    expect(ps1).toContain('[string]$InterfaceName="vEthernet (Ethernet)"');
    expect(ps1).not.toContain('--logtostderr=true');
    expect(ps1).not.toContain('--container-runtime=remote');
    expect(ps1).toContain('--container-runtime-endpoint=npipe');
    expect(h.sim.state.pods.some((p) => p.name.startsWith('win-verify-'))).toBe(false);

    // every command on w1 was one PowerShell process for cmd.exe; never sudo
    const cmds = onW1(from).filter((c) => !c.command.startsWith('sftp put'));
    for (const c of cmds) expect(c.argv.slice(0, 8)).toEqual(['powershell.exe', '-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', c.argv[7]]);
    expect(h.sim.commandLog.filter((c) => c.node === 'w1').some((c) => c.command.includes('sudo'))).toBe(false);
    // the containerd installer ran twice: the reboot dropped the first run, the bot waited and ran it again
    expect(cmds.filter((c) => c.decoded?.includes('install-containerd-runtime.ps1')).length).toBe(2);
    // the kubeconfig went over SFTP
    expect(onW1(from).some((c) => c.command === 'sftp put /c:/k/config')).toBe(true);
    // and the cluster side ran calicoctl with the client kubeconfig
    const k = h.sim.commandLog.slice(from).filter((c) => c.node !== 'w1').map((c) => c.argv.join(' '));
    expect(k).toContain('env KUBECONFIG=/var/snap/microk8s/current/credentials/client.config DATASTORE_TYPE=kubernetes /usr/local/bin/calicoctl ipam configure --strictaffinity=true --allow-version-mismatch');
  }, 90_000);

  it('reports the SSH round trips of the add against the simulated time (printed, never asserted as a duration)', () => {
    const log = h.sim.commandLog.slice(from);
    const w1 = log.filter((c: SimCommandRecord) => c.node === 'w1').length;
    const cluster = log.length - w1;
    expect(w1).toBeGreaterThan(10);
    console.log(`windows-worker add: ${log.length} SSH round trips (${w1} on w1, ${cluster} on the control plane)`);
  });

  it('the kubeconfig never reaches a log, the thread, Slack, Redis, the audit stream or a command line', async () => {
    const config = win().fs.text('c:\\k\\config')!;
    expect(config).toContain('server: https://');
    const key = /client-key-data: (\S+)/.exec(config)![1]!;
    const cert = /client-certificate-data: (\S+)/.exec(config)![1]!;
    const audit = await h.command(USERS.alice, 'audit 200');
    expect(audit.status).toBe(200);
    const redis = await dumpRedis(h.redis.url);
    const slack = JSON.stringify(h.slack.calls);
    const commands = h.sim.commandLog.map((c) => `${c.command}\n${c.decoded ?? ''}`).join('\n');
    for (const secret of [key, cert, key.slice(100, 160)]) {
      expect(h.logs()).not.toContain(secret);
      expect(redis.text).not.toContain(secret);
      expect(slack).not.toContain(secret);
      expect(thread(addJob)).not.toContain(secret);
      expect(commands).not.toContain(secret);
    }
    // the audit stream has the commands, by script name, not their base64
    expect(redis.text).toContain('powershell.exe -EncodedCommand <install containerd>');
  });

  it('status shows w1 with its Windows build, kubelet version and Ready', async () => {
    const body = await status();
    expect(body).toMatch(/w1: Windows Server 2022 Datacenter Evaluation, OS build 20348\.587, kubelet v1\.27\.5, Ready/);
    expect(body).not.toContain('behind the control plane');
  });

  it('refuses a Linux node and a second add before anything runs', async () => {
    const a = await h.command(USERS.alice, 'windows-worker add k8s-2');
    expect(a.jobId).toBeUndefined();
    expect(a.text).toContain('k8s-2 is a Linux node in the inventory');
    const from2 = h.sim.commandLog.length;
    const b = await h.command(USERS.alice, 'windows-worker add w1');
    await h.waitState(b.jobId!, 'failed', 30_000);
    expect(thread(b.jobId!)).toContain('w1 is already a node of the cluster');
    expect(onW1(from2).map((c) => readsOnly(c))).toEqual([true]);
  });

  it('removes w1 after a destructive approval: drained, uninstalled, deleted from the cluster', async () => {
    const { jobId } = await h.command(USERS.alice, 'windows-worker remove w1');
    const id = jobId!;
    await h.waitState(id, 'awaiting approval');
    const approve = await h.waitButton(id, 'Approve');
    expect(approve.confirm).toBeDefined(); // destructive: a confirm dialog
    expect(win().running('kubelet')).toBe(true);
    await approveGate(h, id);
    const t = thread(id);
    expect(t).toMatch(/✅ drain w1/);
    expect(t).toMatch(/✅ uninstall the node components on w1 — kubelet, kube-proxy and the Calico services removed/);
    expect(t).toMatch(/✅ kubectl delete node w1 — w1 deleted from the cluster/);
    expect(h.sim.state.nodes.has('w1')).toBe(false);
    expect([...win().services.keys()]).toEqual(['containerd']);
  }, 60_000);

  it('adds it again (containerd already there: no reboot)', async () => {
    const id = await requestApproved(h, 'windows-worker add w1');
    expect(thread(id)).toMatch(/✅ install containerd on w1 \(it may restart\) — installed ·/);
    expect(win().reboots).toBe(1);
    expect(h.sim.state.nodes.get('w1')?.ready).toBe(true);
  }, 60_000);
});
