/**
 * After a rolling upgrade of the Linux nodes: the Windows workers it did not touch (they run no
 * snap), each with its kubelet version, and a button that requests `windows-worker upgrade
 * <node>` (the seed's reinstall at the cluster's new version) as a new job.
 */
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { windowsUpgradeOffer } from '../engine/offers.ts';
import { kubeVersionOf } from '../microk8s/parse-windows.ts';
import { pickControlPlane } from './controller.ts';
import { windowsNodes } from './windows-cluster.ts';

/** Posts the Windows workers left behind, with an offer each; returns what it said. */
export async function offerWindowsUpgrades(run: RunContext): Promise<string | undefined> {
  const win = windowsNodes(run.cluster);
  if (win.length === 0) return undefined;
  let text: string;
  const buttons: ReturnType<typeof windowsUpgradeOffer>[] = [];
  try {
    const controller = await pickControlPlane(run);
    const cp = kubeVersionOf(controller.nodes.find((n) => n.name === controller.name)?.kubeletVersion ?? '') ?? '?';
    const parts = win.map((name) => {
      const k = controller.nodes.find((n) => n.name === name);
      const kubelet = kubeVersionOf(k?.kubeletVersion ?? '');
      if (k && kubelet !== cp) buttons.push(windowsUpgradeOffer(run.jobId, name));
      return `${name} (${k ? `kubelet ${kubelet ? `v${kubelet}` : '?'}, ${k.ready ? 'Ready' : 'NotReady'}` : 'not in the cluster'})`;
    });
    text = `Not upgraded (Windows workers run no snap): ${parts.join(', ')}. The control plane now runs v${cp}; ${buttons.length > 0 ? 'reinstall each behind it with `windows-worker upgrade <node>`:' : 'none is behind it.'}`;
  } catch (err) {
    text = `Not upgraded (Windows workers run no snap): ${win.join(', ')}; their versions could not be read (${errorText(err)}). Reinstall each with \`windows-worker upgrade <node>\`.`;
  }
  await run.say({ text, buttons });
  return text;
}
