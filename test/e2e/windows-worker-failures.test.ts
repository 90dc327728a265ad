/**
 * windows-worker add on 1.25 (Calico 3.23.3: no kubelet flag to remove) on the KB5040437 build,
 * and the third-party scripts' habit of printing a failure and exiting 0: caught by their
 * success texts, the job stops there and says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestApproved } from '../support/e2e.ts';
import { startHarness, type Harness } from '../support/harness.ts';

describe('windows-worker add on 1.25, KB5040437 build, scripts that fail with exit 0', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clusters: [
        {
          name: 'prod',
          channel: 'C0PROD00001',
          nodes: [{ name: 'k8s-1', channel: '1.25/stable' }, { name: 'w1', os: 'windows', windows: { ubr: 2582 } }],
          extra: { windows: { user: 'Administrator', fetchCalicoctl: true, rebootTimeout: '10s', podTimeout: '2m' } },
        },
        // calicoctl is not on its control-plane node and the bot may not download it
        { name: 'lab', channel: 'C0LAB000001', nodes: [{ name: 'lab-1', channel: '1.27/stable' }, { name: 'lw1', os: 'windows' }], extra: { windows: { user: 'Administrator' } } },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const thread = (id: string) => h.thread(id).map((m) => m.text).join('\n');
  const win = () => h.sim.state.node('w1').windows!;

  it('--dry-run shows the plan (the seed\'s commands, calicoctl downloaded) and runs nothing', async () => {
    const from = h.sim.commandLog.length;
    const r = await h.command('U0ALICE', 'windows-worker add w1 --dry-run');
    expect(r.jobId).toBeUndefined();
    expect(r.full).toContain('calicoctl-linux-amd64 (calicoctl is not on k8s-1)');
    expect(r.full).toContain('-DownloadOnly \\"yes\\" -ServiceCidr \\"10.152.183.0/24\\" -DNSServerIPs \\"10.152.183.10\\"');
    expect(r.full).toContain('New-NetFirewallRule -Name');
    expect(r.full).toContain('--timeout=120s');
    expect(h.sim.commandLog.length).toBe(from);
  });

  it('without calicoctl on the control plane (and no fetchCalicoctl) the preflight says how to provide it; nothing changes', async () => {
    const lab = h.sims.get('lab')!;
    const { jobId } = await h.command('U0ALICE', 'windows-worker add lw1 --cluster lab', 'C0LAB000001');
    await h.waitState(jobId!, 'failed', 30_000);
    const t = h.thread(jobId!).map((m) => m.text).join('\n');
    expect(t).toContain('calicoctl is not on lab-1 at /usr/local/bin/calicoctl. Install calicoctl v3.25.0 there (`sudo curl -L https://github.com/projectcalico/calico/releases/download/v3.25.0/calicoctl-linux-amd64 -o /usr/local/bin/calicoctl && sudo chmod +x /usr/local/bin/calicoctl`), or set windows.fetchCalicoctl: true');
    expect(lab.state.node('lw1').windows!.services.size).toBe(0);
  });

  it('the containerd installer fails inside its try/catch and exits 0: the step fails on its missing "Script complete!"', async () => {
    win().faults.containerdFailsQuietly = true;
    win().containersFeature = 'on'; // no reboot this time: straight to the download that fails
    const id = await requestApproved(h, 'windows-worker add w1', 'failed').finally(() => (win().faults.containerdFailsQuietly = false));
    const t = thread(id);
    expect(t).toMatch(/❌ install containerd on w1 \(it may restart\) — install containerd on w1 failed: it left c:\\k\\install-container-runtime\.err \(its failure marker\)/);
    expect(t).toContain('(404) Not Found');
    // nothing after it ran
    expect(t).not.toContain('write c:\\k\\config');
    expect(h.sim.state.nodes.has('w1')).toBe(false);
  }, 60_000);

  it('install-calico-windows.ps1 stops at "Calico services are still running" with exit 0: caught', async () => {
    win().faults.calicoSaysStillRunning = true;
    const id = await requestApproved(h, 'windows-worker add w1', 'failed').finally(() => (win().faults.calicoSaysStillRunning = false));
    expect(thread(id)).toMatch(/❌ download Calico v3\.23\.3 and Kubernetes 1\.25\.2 on w1 — download Calico and Kubernetes on w1 failed: it stopped early and exited 0:\n[\s\S]*Calico services are still running/);
  }, 60_000);

  it('then adds w1 on 1.25: the KB5040437 warning with the seed link, no kubelet flag removed, Ready', async () => {
    const id = await requestApproved(h, 'windows-worker add w1');
    const t = thread(id);
    expect(t).toContain('OS build 20348.2582 is the Windows Server 2022 July 2024 update (KB5040437)');
    expect(t).toContain('https://github.com/microsoft/Windows-Containers/issues/516');
    expect(t).toMatch(/✅ set InterfaceName and the kubelet flags for 1\.25\.2 — InterfaceName "vEthernet \(Ethernet\)"; no flag to remove/);
    const ps1 = win().fs.text('c:\\CalicoWindows\\kubernetes\\kubelet-service.ps1')!;
    expect(ps1).toContain('"--logtostderr=true"');
    expect(ps1).toContain('"--container-runtime=remote"');
    expect(h.sim.state.nodes.get('w1')?.ready).toBe(true);
    expect(h.sim.state.nodes.get('w1')?.kubeletVersion).toBe('v1.25.2');
  }, 60_000);
});
