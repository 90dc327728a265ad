/**
 * The Windows side of the seed's procedure, one helper per numbered step: containerd (with the
 * reboot it may need, resumed), c:\k\config, the Calico download and install, the Kubernetes
 * services, the firewall rule, the kubelet-service.ps1 edits, starting kubelet and kube-proxy.
 * Every helper is safe to run again (the step that was in flight during a crash re-runs).
 */
import { ADAPTER_NAME } from '../config/inventory.ts';
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { ConnectionLostError } from '../errors/user-facing.ts';
import { flagsToRemove, serviceStatus, type NetAdapter } from '../microk8s/parse-windows.ts';
import { excerpt } from '../util/excerpt.ts';
import { calicoReleaseUrl, type WindowsPreflight } from './windows-cluster.ts';

const MAX_CONTAINERD_RUNS = 3;

/** Polls the node until it answers with a boot time other than `before` (it rebooted and is back). */
export async function waitForReboot(run: RunContext, node: string, before: string, timeoutMs: number): Promise<string> {
  const win = run.windowsNode(node);
  const deadline = Date.now() + timeoutMs;
  // a real restart takes a minute or more; a refused connection answers at once, so poll briskly
  const pause = Math.min(2_000, Math.max(50, Math.floor(timeoutMs / 600)));
  let last = 'no answer yet';
  for (;;) {
    try {
      const facts = await win.facts(Math.max(1_000, Math.min(30_000, deadline - Date.now())));
      if (facts.lastBoot !== before) return facts.lastBoot;
      last = `still up since ${before}`;
    } catch (err) {
      last = errorText(err);
    }
    if (Date.now() >= deadline) throw new RunbookFailure(`${node} did not come back from its reboot within ${Math.round(timeoutMs / 1000)} s (${last}).`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/**
 * Seed "Prepare the Windows node" 1. install-containerd-runtime.ps1 enables the Containers
 * feature and restarts the machine (the SSH connection drops) or asks for a restart; the bot
 * waits for SSH to come back with a new boot time and runs the script again, which then
 * installs containerd. Success is its "Script complete!" and no failure marker, not its exit code.
 */
export async function installContainerd(run: RunContext, node: string, lastBoot: string): Promise<{ reboots: number }> {
  const win = run.windowsNode(node);
  const { containerdScriptUrl, rebootTimeout } = run.cluster.windows;
  let boot = lastBoot;
  let reboots = 0;
  for (let attempt = 1; attempt <= MAX_CONTAINERD_RUNS; attempt++) {
    let dropped = false;
    try {
      const outcome = await win.installContainerd(containerdScriptUrl);
      if (outcome.kind === 'installed') return { reboots };
    } catch (err) {
      if (!(err instanceof ConnectionLostError)) throw err;
      dropped = true; // the script restarted the machine under us
    }
    if (!dropped) {
      await run.say(`${node}: the containerd installer asks for a restart; restarting ${node}.`);
      await win.reboot().catch((err: unknown) => {
        if (!(err instanceof ConnectionLostError)) throw err;
      });
    } else {
      await run.say(`${node} is restarting (the containerd installer enabled the Containers feature); waiting for SSH to come back.`);
    }
    boot = await waitForReboot(run, node, boot, rebootTimeout);
    reboots++;
  }
  throw new RunbookFailure(`install-containerd-runtime.ps1 on ${node} still asked for a restart after ${MAX_CONTAINERD_RUNS} runs. Check the Containers feature on ${node} (Get-WindowsFeature Containers).`);
}

/**
 * Seed "Prepare the Windows node" 2: the cluster's kubeconfig (`microk8s config` on the
 * controller) written to c:\k\config over SFTP. It exists only inside this step: never in a
 * step result, a command line, a log or a message.
 */
export async function writeKubeconfig(run: RunContext, node: string, controller: string): Promise<string> {
  const kubeconfig = await run.node(controller).windows.kubeconfig();
  const win = run.windowsNode(node);
  await win.prepareKubeconfig();
  await win.uploadKubeconfig(kubeconfig);
  return `c:\\k\\config written (${kubeconfig.length} bytes, from microk8s config on ${controller})`;
}

/** Seed "Install Calico" 1–2. */
export async function downloadCalico(run: RunContext, pre: Pick<WindowsPreflight, 'node' | 'kubeVersion' | 'calicoVersion'>): Promise<string> {
  const w = run.cluster.windows;
  await run.windowsNode(pre.node).downloadCalico({
    scriptUrl: w.calicoScriptUrl,
    releaseBaseUrl: calicoReleaseUrl(run.cluster, pre.calicoVersion),
    releaseFile: `calico-windows-v${pre.calicoVersion}.zip`,
    kubeVersion: pre.kubeVersion,
    serviceCidr: w.serviceCidr,
    dnsIp: w.dnsIp,
  });
  return `Calico for Windows v${pre.calicoVersion} and Kubernetes ${pre.kubeVersion} binaries downloaded`;
}

/** Seed "Install Calico" 3: CNI dirs, install-calico.ps1, start-calico.ps1; both services must run. */
export async function installCalico(run: RunContext, node: string): Promise<string> {
  const services = await run.windowsNode(node).installCalico();
  return services.map((s) => `${s.name} ${s.status}`).join(', ');
}

/** Seed "Install Calico" 4. */
export async function installKubeServices(run: RunContext, node: string): Promise<string> {
  const services = await run.windowsNode(node).installKubeServices();
  return `kubelet and kube-proxy services installed (${services.map((s) => `${s.name} ${s.status}`).join(', ')})`;
}

/** Seed "Install Calico" 5. */
export async function addFirewallRule(run: RunContext, node: string): Promise<string> {
  return `${await run.windowsNode(node).firewallRule()} allows TCP 10250 inbound`;
}

/**
 * The adapter kubelet-service.ps1 must read the node IP from: the inventory's
 * windows.interfaceName if set (it must exist), else the Up adapter holding the node's address,
 * else the only Up adapter with an IPv4 address, preferring Calico's `vEthernet (…)` vSwitch.
 */
export function pickAdapter(adapters: readonly NetAdapter[], host: string, configured: string | undefined): { name: string } | { problem: string } {
  const shown = adapters.map((a) => `"${a.name}" (${a.status}${a.ipv4.length ? `, ${a.ipv4.join(' ')}` : ''})`).join(', ') || 'none';
  if (configured) return adapters.some((a) => a.name === configured) ? { name: configured } : { problem: `windows.interfaceName is "${configured}", but the node's adapters are ${shown}` };
  const usable = adapters.filter((a) => a.status === 'Up' && a.ipv4.some((ip) => !ip.startsWith('127.') && !ip.startsWith('169.254.')));
  const byHost = usable.find((a) => a.ipv4.includes(host));
  if (byHost) return { name: byHost.name };
  const vswitch = usable.filter((a) => a.name.startsWith('vEthernet ('));
  const pool = vswitch.length > 0 ? vswitch : usable;
  if (pool.length === 1 && pool[0]) return { name: pool[0].name };
  return { problem: `cannot tell which adapter carries the node's traffic (adapters: ${shown}); set windows.interfaceName in the inventory` };
}

/**
 * Seed "Install Calico" 6–7: InterfaceName = the adapter read from the node (`ipconfig`), and
 * the kubelet flags this Kubernetes version refuses removed (1.26+: --logtostderr=true,
 * 1.27+: --container-runtime=remote).
 */
export async function configureKubelet(run: RunContext, node: string, kubeVersion: string): Promise<{ interfaceName: string; removed: string[] }> {
  const win = run.windowsNode(node);
  const host = run.nodeConfig(node).host;
  const picked = pickAdapter(await win.adapters(), host, run.cluster.windows.interfaceName);
  if ('problem' in picked) throw new RunbookFailure(`${node}: ${picked.problem}.`);
  // it lands inside a double-quoted string of a .ps1 file: no quote, `$` or backtick may come with it
  if (!ADAPTER_NAME.test(picked.name)) throw new RunbookFailure(`${node}'s adapter name "${excerpt(picked.name, 64)}" has characters kubelet-service.ps1 cannot take safely; set windows.interfaceName (letters, digits, spaces and ()#._-).`);
  const flags = flagsToRemove(kubeVersion);
  await win.editKubeletService(picked.name, flags);
  return { interfaceName: picked.name, removed: flags };
}

/** Seed "Install Calico" 8. */
export async function startKubeServices(run: RunContext, node: string): Promise<string> {
  const services = await run.windowsNode(node).startKubeServices();
  const down = ['kubelet', 'kube-proxy'].filter((n) => serviceStatus(services, n) !== 'Running');
  if (down.length > 0) throw new RunbookFailure(`${node}: ${down.join(' and ')} did not start (${services.map((s) => `${s.name} ${s.status}`).join(', ')}).`);
  return 'kubelet and kube-proxy running';
}

/** Seed "Uninstall" on the Windows machine: uninstall-kube-services.ps1, uninstall-calico.ps1. */
export async function uninstallComponents(run: RunContext, node: string): Promise<string> {
  await run.windowsNode(node).uninstall();
  return 'kubelet, kube-proxy and the Calico services removed';
}
