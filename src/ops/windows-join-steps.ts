import type { RunContext } from '../engine/context.ts';
import type { WindowsPreflight } from './windows-cluster.ts';
import { addFirewallRule, configureKubelet, downloadCalico, installCalico, installKubeServices, startKubeServices, writeKubeconfig } from './windows-install.ts';
import type { windowsTitles } from './windows-plan.ts';
import { verifyTestPod, waitWindowsReady } from './windows-verify.ts';

/**
 * The Windows side that `windows-worker add` and `upgrade` share, as the seed writes it:
 * "Prepare the Windows node" 2 (c:\k\config), "Install Calico" 1–8 with the kubelet edits,
 * start the services, then "Verify the Windows node" 1–3. One sequence, so an upgrade
 * installs exactly what an add does (the plans share windows-plan.ts's installSteps).
 */
export async function installAndVerifyWindowsNode(
  run: RunContext,
  node: string,
  pre: Pick<WindowsPreflight, 'node' | 'controller' | 'kubeVersion' | 'calicoVersion'>,
  t: ReturnType<typeof windowsTitles>,
): Promise<void> {
  await run.step(t.kubeconfig, () => writeKubeconfig(run, node, pre.controller), { describe: (s) => s });
  await run.step(t.download, () => downloadCalico(run, pre), { describe: (s) => s });
  await run.step(t.calico, () => installCalico(run, node), { describe: (s) => s });
  await run.step(t.services, () => installKubeServices(run, node), { describe: (s) => s });
  await run.step(t.firewall, () => addFirewallRule(run, node), { describe: (s) => s });
  await run.step(t.kubelet, () => configureKubelet(run, node, pre.kubeVersion), {
    describe: (k) => `InterfaceName "${k.interfaceName}"; ${k.removed.length ? `removed ${k.removed.join(', ')}` : 'no flag to remove'}`,
  });
  await run.step(t.start, () => startKubeServices(run, node), { describe: (s) => s });
  await run.step(t.ready, () => waitWindowsReady(run, node), { describe: (s) => s });
  await run.step(t.pod, () => verifyTestPod(run, node), { describe: (s) => s });
}
