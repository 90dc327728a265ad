/**
 * The simulated Windows host over real SSH with a plain ssh2 client: cmd.exe as the shell, the
 * -EncodedCommand scripts, CLIXML progress without -NoProfile, SFTP under c:\, and kubelet
 * refusing a leftover --logtostderr on 1.26 (the node never joins).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCommand, renderScript, type PsScript } from '../../src/microk8s/powershell.ts';
import * as scripts from '../../src/microk8s/windows-scripts.ts';
import { startSimCluster, type SimCluster } from '../../src/sim/index.ts';
import { clientFiles, connect, type Conn } from './helpers.ts';

const ps = (s: PsScript, flags = '-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass') => `powershell.exe ${flags} -EncodedCommand ${encodeCommand(renderScript(s))}`;
const lastJson = (out: string): Record<string, unknown> => JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;

describe('sim: a Windows Server 2022 host (1.26 cluster)', () => {
  let sim: SimCluster;
  let w: Conn;
  let privateKey: Buffer;
  beforeAll(async () => {
    sim = await startSimCluster({ nodes: [{ name: 'k8s-1', channel: '1.26/stable' }, { name: 'w1', os: 'windows', windows: { rebootOnContainerd: false } }], latency: { defaultMs: 0 } });
    ({ privateKey } = await clientFiles(sim));
    w = await connect(sim, 'w1', { privateKey, username: 'Administrator' });
  });
  afterAll(async () => {
    w?.close();
    await sim?.stop();
  });

  it('answers only the Windows account', async () => {
    await expect(connect(sim, 'w1', { privateKey, username: 'ubuntu' })).rejects.toThrow();
  });

  it('runs commands through cmd.exe: a POSIX command or a sudo prefix is "not recognized"', async () => {
    for (const cmd of ['sudo -n -- microk8s status', 'ls /', "'powershell.exe' -Command x"]) {
      const r = await w.exec(cmd);
      expect(r.code, cmd).toBe(1);
      expect(r.stderr, cmd).toMatch(/is not recognized as an internal or external command,\r\noperable program or batch file\./);
    }
    const ip = await w.exec('ipconfig');
    expect(ip.stdout).toContain('Ethernet adapter Ethernet:');
  });

  it('decodes -EncodedCommand (UTF-16LE base64) and refuses a bad one', async () => {
    const facts = await w.exec(ps(scripts.factsScript()));
    expect(facts.code).toBe(0);
    expect(facts.stderr).toBe('');
    expect(lastJson(facts.stdout)).toMatchObject({ ProductName: 'Windows Server 2022 Datacenter', CurrentBuild: '20348', UBR: 587, ComputerName: 'W1', Admin: true, Services: [] });
    const utf8 = await w.exec(`powershell.exe -NoProfile -EncodedCommand ${Buffer.from('Get-Date').toString('base64')}x`);
    expect(utf8.code).toBe(1);
    expect(utf8.stderr).toContain('is not properly encoded');
  });

  it('without -NoProfile PowerShell writes a CLIXML progress block to stderr', async () => {
    const r = await w.exec(ps(scripts.factsScript(), '-NonInteractive'));
    expect(r.stderr.startsWith('#< CLIXML\r\n<Objs')).toBe(true);
    expect(r.stderr).toContain('Preparing modules for first use.');
  });

  it('a terminating error is exit 1 with the error record in CLIXML', async () => {
    const r = await w.exec(ps(scripts.startKubeServicesScript()));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`<S S="Error">Start-Service : Cannot find any service with service name 'kubelet'.`);
  });

  it('a leftover --logtostderr=true keeps kubelet from starting on 1.26: the node never joins, kubelet.err.log says why', async () => {
    const host = sim.state.node('w1').windows!;
    const fs = host.fs;
    expect((await w.exec(ps(scripts.installContainerdScript('https://example.test/install-containerd-runtime.ps1')))).stdout).toContain('Script complete!');
    fs.put('c:\\k\\config', 'apiVersion: v1\n    server: https://10.0.0.11:16443\n', Date.now());
    const dl = await w.exec(ps(scripts.downloadCalicoScript({ scriptUrl: 'https://example.test/i.ps1', releaseBaseUrl: 'https://example.test/v3.23.5', releaseFile: 'calico-windows-v3.23.5.zip', kubeVersion: '1.26.1', serviceCidr: '10.152.183.0/24', dnsIp: '10.152.183.10' })));
    expect(dl.stdout).toContain('Downloaded Calico for Windows installation zip file.');
    expect((await w.exec(ps(scripts.installCalicoScript()))).stdout).toContain('Done, the Calico services are running:');
    expect((await w.exec(ps(scripts.installKubeServicesScript()))).stdout).toContain('Done installing kube-proxy service.');
    // the InterfaceName edit only, the 1.26 flag left in
    const edit = await w.exec(ps(scripts.editKubeletServiceScript('vEthernet (Ethernet)', [])));
    expect(lastJson(edit.stdout)).toMatchObject({ Removed: 0, Left: [] });
    const start = await w.exec(ps(scripts.startKubeServicesScript()));
    expect(start.code).toBe(0);
    expect(sim.state.nodes.has('w1')).toBe(false);
    expect(fs.text('c:\\k\\kubelet.err.log')).toContain('failed to parse kubelet flag: unknown flag: --logtostderr');
    // with the flag removed, the next start joins the node
    const fixed = await w.exec(ps(scripts.editKubeletServiceScript('vEthernet (Ethernet)', ['--logtostderr=true'])));
    expect(lastJson(fixed.stdout)).toMatchObject({ Removed: 1, Left: [] });
    await w.exec(ps(scripts.startKubeServicesScript()));
    expect(sim.state.nodes.get('w1')?.ready).toBe(true);
  });

  it('reboots: the connection drops and SSH comes back with a new boot time', async () => {
    const host = sim.state.node('w1').windows!;
    const before = host.lastBoot;
    await w.exec(ps(scripts.rebootScript()));
    await new Promise((r) => setTimeout(r, 60));
    await expect(w.exec(ps(scripts.factsScript()))).rejects.toThrow();
    let back: Conn | undefined;
    for (let i = 0; i < 100 && !back; i++) {
      back = await connect(sim, 'w1', { privateKey, username: 'Administrator' }).catch(() => undefined);
      if (!back) await new Promise((r) => setTimeout(r, 20));
    }
    expect(back).toBeDefined();
    expect(host.lastBoot).toBeGreaterThan(before);
    w = back!;
  });
});
