/**
 * The Windows side of the seed's procedure (src/ops/windows-install.ts) step by step over the real
 * run context, on a simulated Windows Server 2022 host: the adapter choice (pure), containerd
 * across the reboot it needs (and its repeat, its quiet failure, a reboot that never comes),
 * c:\k\config over SFTP, the Calico download and install, the services and the firewall rule,
 * the kubelet-service.ps1 edits (and an adapter name it cannot take), starting the services,
 * the uninstall. Each helper is run twice where a crash could make it run again.
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { WindowsStepError } from '../../src/errors/user-facing.ts';
import type { NetAdapter } from '../../src/microk8s/parse-windows.ts';
import { preflightWindows, prepareCalico, type WindowsPreflight } from '../../src/ops/windows-cluster.ts';
import {
  addFirewallRule,
  configureKubelet,
  downloadCalico,
  installCalico,
  installContainerd,
  installKubeServices,
  pickAdapter,
  startKubeServices,
  uninstallComponents,
  waitForReboot,
  writeKubeconfig,
} from '../../src/ops/windows-install.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const KUBELET_SERVICE = 'c:\\CalicoWindows\\kubernetes\\kubelet-service.ps1';

describe('pickAdapter', () => {
  const a = (name: string, ipv4: string[], status = 'Up'): NetAdapter => ({ name, status, description: 'Microsoft Hyper-V Network Adapter', ipv4 });

  it('takes the configured adapter (it must exist), else the one holding the host, else the only vSwitch or usable adapter', () => {
    const adapters = [a('Ethernet', ['10.0.0.21']), a('vEthernet (Ethernet)', ['10.0.0.22']), a('Loopback', ['127.0.0.1']), a('APIPA', ['169.254.3.4']), a('Down', ['10.0.0.23'], 'Disconnected')];
    expect(pickAdapter(adapters, '10.0.0.21', 'Ethernet')).toEqual({ name: 'Ethernet' });
    expect(pickAdapter(adapters, '10.0.0.21', 'Wi-Fi')).toEqual({ problem: expect.stringMatching(/^windows\.interfaceName is "Wi-Fi", but the node's adapters are "Ethernet" \(Up, 10\.0\.0\.21\), "vEthernet \(Ethernet\)" \(Up, 10\.0\.0\.22\), /) });
    expect(pickAdapter(adapters, '10.0.0.21', undefined)).toEqual({ name: 'Ethernet' });
    // the host's address on none of them (a NAT, a name): Calico's vSwitch
    expect(pickAdapter(adapters, 'w1.example', undefined)).toEqual({ name: 'vEthernet (Ethernet)' });
    expect(pickAdapter([a('Ethernet', ['10.0.0.21']), a('Loopback', ['127.0.0.1'])], 'w1.example', undefined)).toEqual({ name: 'Ethernet' });
    expect(pickAdapter([a('Ethernet', ['10.0.0.21']), a('Ethernet 2', ['10.0.1.21'])], 'w1.example', undefined)).toEqual({
      problem: 'cannot tell which adapter carries the node\'s traffic (adapters: "Ethernet" (Up, 10.0.0.21), "Ethernet 2" (Up, 10.0.1.21)); set windows.interfaceName in the inventory',
    });
    expect(pickAdapter([], 'w1.example', undefined)).toEqual({ problem: 'cannot tell which adapter carries the node\'s traffic (adapters: none); set windows.interfaceName in the inventory' });
  });
});

describe('windows-install on 1.27 (k8s-1, k8s-2, the Windows hosts w1 and w2)', () => {
  const rig = useOpsRig({
    nodes: [{ name: 'k8s-1', channel: '1.27/stable' }, { name: 'k8s-2', channel: '1.27/stable' }, { name: 'w1', os: 'windows' }, { name: 'w2', os: 'windows', windows: { adapter: 'LAN $1' } }],
    extra: { windows: { user: 'Administrator', fetchCalicoctl: true, rebootTimeout: '10s' } },
  });
  const win = () => rig.sim.state.node('w1').windows!;
  let pre: WindowsPreflight;

  it('installs containerd across the restart the installer makes, and a repeat finds it installed (no restart)', async () => {
    pre = await rig.run((run) => preflightWindows(run, 'w1'));
    await rig.run((run) => prepareCalico(run, pre));
    expect(await rig.run((run) => installContainerd(run, 'w1', pre.lastBoot))).toEqual({ reboots: 1 });
    expect(rig.thread()).toContain('w1 is restarting (the containerd installer enabled the Containers feature); waiting for SSH to come back.');
    expect(win().reboots).toBe(1);
    expect(win().running('containerd')).toBe(true);
    expect(await rig.run((run) => installContainerd(run, 'w1', pre.lastBoot))).toEqual({ reboots: 0 });
    expect(win().reboots).toBe(1);
  });

  it('a quiet installer failure (exit 0, its .err marker left) fails the step without a restart; a node that never reboots times out', async () => {
    win().faults.containerdFailsQuietly = true;
    try {
      const err = await rejectionOf(rig.run((run) => installContainerd(run, 'w1', pre.lastBoot)), WindowsStepError);
      expect(err.message).toMatch(/^install containerd on w1 failed: it left c:\\k\\install-container-runtime\.err \(its failure marker\)/);
      expect(err.message).toContain('(404) Not Found');
      expect(win().reboots).toBe(1);
    } finally {
      win().faults.containerdFailsQuietly = false;
    }
    const up = await rig.run((run) => run.windowsNode('w1').facts());
    const late = await rejectionOf(rig.run((run) => waitForReboot(run, 'w1', up.lastBoot, 1_000)), RunbookFailure);
    expect(late.message).toBe(`w1 did not come back from its reboot within 1 s (still up since ${up.lastBoot}).`);
  });

  it('writes c:\\k\\config from microk8s config over SFTP; the result names only its size', async () => {
    const text = await rig.run((run) => writeKubeconfig(run, 'w1', 'k8s-1'));
    const config = win().fs.text('c:\\k\\config')!;
    expect(config).toContain('server: https://');
    expect(text).toBe(`c:\\k\\config written (${config.length} bytes, from microk8s config on k8s-1)`);
    expect(rig.commands('k8s-1')).toContain('microk8s config');
    expect(rig.commands('w1')).toContainEqual(expect.stringMatching(/^sftp.put \/c:\/k\/config$/));
    const key = /client-key-data: (\S+)/.exec(config)?.[1] ?? /token: (\S+)/.exec(config)![1]!;
    expect(rig.commands().join('\n')).not.toContain(key);
    expect(rig.thread().join('\n')).not.toContain(key);
  });

  it('downloads Calico and Kubernetes at the preflight\'s versions, installs Calico, the services and the firewall rule (again: the same)', async () => {
    expect(await rig.run((run) => downloadCalico(run, pre))).toBe('Calico for Windows v3.25.0 and Kubernetes 1.27.5 binaries downloaded');
    expect(win().kubeVersion).toBe('1.27.5');
    expect(await rig.run((run) => installCalico(run, 'w1'))).toBe('CalicoNode Running, CalicoFelix Running');
    expect(win().adapterName).toBe('vEthernet (Ethernet)');
    expect(await rig.run((run) => installKubeServices(run, 'w1'))).toBe('kubelet and kube-proxy services installed (kubelet Stopped, kube-proxy Stopped)');
    expect(await rig.run((run) => addFirewallRule(run, 'w1'))).toBe('Kubelet-In-TCP allows TCP 10250 inbound');
    expect(await rig.run((run) => addFirewallRule(run, 'w1'))).toBe('Kubelet-In-TCP allows TCP 10250 inbound');
    expect([...win().firewallRules]).toEqual(['Kubelet-In-TCP']);
  });

  it('sets InterfaceName to the vSwitch and removes the flags 1.27 refuses; an adapter name with a $ is refused before any edit', async () => {
    expect(await rig.run((run) => configureKubelet(run, 'w1', '1.27.5'))).toEqual({ interfaceName: 'vEthernet (Ethernet)', removed: ['--logtostderr=true', '--container-runtime=remote'] });
    const ps1 = win().fs.text(KUBELET_SERVICE)!;
    expect(ps1).toContain('[string]$InterfaceName="vEthernet (Ethernet)"');
    expect(ps1).not.toContain('--logtostderr=true');
    expect(ps1).not.toContain('--container-runtime=remote');
    // run again (a crash mid-step): the same file
    await rig.run((run) => configureKubelet(run, 'w1', '1.27.5'));
    expect(win().fs.text(KUBELET_SERVICE)).toBe(ps1);

    const err = await rejectionOf(rig.run((run) => configureKubelet(run, 'w2', '1.27.5')), RunbookFailure);
    expect(err.message).toBe('w2\'s adapter name "LAN $1" has characters kubelet-service.ps1 cannot take safely; set windows.interfaceName (letters, digits, spaces and ()#._-).');
    expect(rig.commands('w2')).toHaveLength(1);
  });

  it('starts kubelet and kube-proxy: w1 joins Ready; then uninstalls them and Calico (twice: nothing left to remove the second time)', async () => {
    expect(await rig.run((run) => startKubeServices(run, 'w1'))).toBe('kubelet and kube-proxy running');
    expect(rig.sim.state.nodes.get('w1')?.ready).toBe(true);
    expect(await rig.run((run) => uninstallComponents(run, 'w1'))).toBe('kubelet, kube-proxy and the Calico services removed');
    expect([...win().services.keys()]).toEqual(['containerd']);
    expect(rig.sim.state.nodes.get('w1')?.ready).toBe(false);
    expect(await rig.run((run) => uninstallComponents(run, 'w1'))).toBe('kubelet, kube-proxy and the Calico services removed');
    const err = await rejectionOf(rig.run((run) => startKubeServices(run, 'w1')), WindowsStepError);
    expect(err.message).toMatch(/^start kubelet and kube-proxy on w1 failed: exit code 1:\nStart-Service : Cannot find any service with service name 'kubelet'\./);
  });
});
