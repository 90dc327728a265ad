/** Ops-rig helpers for the Windows workers' unit tests (test/ops/windows-*.test.ts). */
import type { SimNodeSpec } from '../../src/sim/index.ts';
import { preflightWindows, prepareCalico, type WindowsPreflight } from '../../src/ops/windows-cluster.ts';
import {
  addFirewallRule,
  configureKubelet,
  downloadCalico,
  installCalico,
  installContainerd,
  installKubeServices,
  startKubeServices,
  writeKubeconfig,
} from '../../src/ops/windows-install.ts';
import type { OpsRig } from './ops-rig.ts';

/** Two control-plane nodes on `channel` and the Windows host w1. */
export function windowsCluster(channel = '1.27/stable'): SimNodeSpec[] {
  return [{ name: 'k8s-1', channel }, { name: 'k8s-2', channel }, { name: 'w1', os: 'windows' }];
}

/** The inventory's `windows:` settings the rig takes (`extra`). */
export const WINDOWS_SETTINGS = { windows: { user: 'Administrator', fetchCalicoctl: true, rebootTimeout: '10s' } };

/**
 * Joins `node` as the seed does, up to started services (no verification), in one run, at the
 * control plane's Kubernetes version or `kubeVersion`; its preflight.
 */
export function joinWindowsNode(rig: OpsRig, node: string, kubeVersion?: string): Promise<WindowsPreflight> {
  return rig.run(async (run) => {
    const read = await preflightWindows(run, node);
    const pre = { ...read, kubeVersion: kubeVersion ?? read.kubeVersion };
    await prepareCalico(run, pre);
    await installContainerd(run, node, pre.lastBoot);
    await writeKubeconfig(run, node, pre.controller);
    await downloadCalico(run, pre);
    await installCalico(run, node);
    await installKubeServices(run, node);
    await addFirewallRule(run, node);
    await configureKubelet(run, node, pre.kubeVersion);
    await startKubeServices(run, node);
    return pre;
  });
}
