/**
 * The Windows workers' lines of `status`: Windows build (from the Node's kernel version),
 * kubelet version, Ready, and a flag when the kubelet is behind the control plane (the seed:
 * "there is no specific upgrade path" — `windows-worker upgrade` reinstalls at the new version).
 */
import { KB5040437, kubeVersionOf } from '../microk8s/parse-windows.ts';
import type { KubeNode } from '../microk8s/types.ts';

/** Node-reported text, kept to characters that mean nothing to mrkdwn, and short. */
function plain(text: string | undefined, max = 60): string {
  let out = '';
  for (const ch of text ?? '') if (/[A-Za-z0-9 .()+_-]/.test(ch)) out += ch;
  return out.slice(0, max) || '?';
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** `10.0.20348.2582` → `20348.2582` */
export function osBuildOf(kernelVersion: string | undefined): string | undefined {
  const m = /^10\.0\.(\d{4,6})\.(\d{1,6})$/.exec(kernelVersion ?? '');
  return m ? `${m[1]}.${m[2]}` : undefined;
}

export function windowsStatusLines(rows: ReadonlyArray<{ name: string; windows: boolean; kube?: KubeNode }>, controlPlaneKubelet: string | undefined): string[] {
  const cp = kubeVersionOf(controlPlaneKubelet ?? '');
  const lines: string[] = [];
  for (const r of rows.filter((x) => x.windows)) {
    const k = r.kube;
    if (!k) {
      lines.push(`🪟 ${r.name}: Windows worker, not in the cluster (\`windows-worker add ${r.name}\`)`);
      continue;
    }
    const build = osBuildOf(k.kernelVersion);
    const kubelet = kubeVersionOf(k.kubeletVersion);
    let line = `🪟 ${r.name}: ${plain(k.osImage)}, OS build ${build ?? plain(k.kernelVersion)}, kubelet ${kubelet ? `v${kubelet}` : plain(k.kubeletVersion)}, ${k.ready ? 'Ready' : 'NotReady'}`;
    if (cp && kubelet && compareVersions(kubelet, cp) < 0) line += ` — ⚠️ kubelet behind the control plane (v${cp}): \`windows-worker upgrade ${r.name}\``;
    if (build === `${KB5040437.build}.${KB5040437.ubr}`) line += ` — ⚠️ KB5040437 build: container networking broken (${KB5040437.link})`;
    lines.push(line);
  }
  return lines;
}
