/**
 * Step titles and plans of the windows-worker verbs: one place, so the plan shown before the
 * approval and the steps run afterwards say the same thing.
 */
import type { ClusterConfig } from '../config/inventory.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { flagsToRemove } from '../microk8s/parse-windows.ts';
import { drainPlanStep } from './drain.ts';
import { calicoReleaseUrl, calicoctlUrl, type WindowsPreflight } from './windows-cluster.ts';

export function windowsTitles(node: string, v: { kubeVersion: string; calicoVersion: string }) {
  return {
    affinity: 'calicoctl: set IPAM strict affinity',
    containerd: `install containerd on ${node} (it may restart)`,
    kubeconfig: `write c:\\k\\config on ${node}`,
    download: `download Calico v${v.calicoVersion} and Kubernetes ${v.kubeVersion} on ${node}`,
    calico: `install and start Calico on ${node}`,
    services: `install the kubelet and kube-proxy services on ${node}`,
    firewall: `add the kubelet firewall rule on ${node}`,
    kubelet: `set InterfaceName and the kubelet flags for ${v.kubeVersion}`,
    start: `start kubelet and kube-proxy on ${node}`,
    ready: `wait for ${node} to be Ready`,
    pod: `verify: a nanoserver pod on ${node} reaches the kubernetes service`,
    drain: `drain ${node}`,
    uninstall: `uninstall the node components on ${node}`,
    delete: `kubectl delete node ${node}`,
  };
}

/** What the unknown values look like before the preflight read them. */
const UNREAD = { kubeVersion: '<cluster version>', calicoVersion: '<cluster Calico>' };

function controllerOf(cluster: ClusterConfig, pre?: Pick<WindowsPreflight, 'controller'>): string {
  return pre?.controller ?? cluster.nodes.find((n) => n.role === 'control-plane')?.name ?? '<control-plane node>';
}

/** The Windows-side install steps (shared by add and upgrade). */
function installSteps(cluster: ClusterConfig, node: string, v: { kubeVersion: string; calicoVersion: string }, controller: string, containerd: boolean): PlanStep[] {
  const t = windowsTitles(node, v);
  const w = cluster.windows;
  const flags = v.kubeVersion === UNREAD.kubeVersion ? ['(--logtostderr=true on 1.26+, --container-runtime=remote on 1.27+)'] : flagsToRemove(v.kubeVersion);
  const steps: PlanStep[] = [];
  if (containerd) {
    steps.push({ title: t.containerd, node, commands: [`Invoke-WebRequest -UseBasicParsing ${w.containerdScriptUrl} -OutFile c:\\k\\install-containerd-runtime.ps1`, 'c:\\k\\install-containerd-runtime.ps1 (a restart is waited for and the script run again; success = "Script complete!")'] });
  }
  steps.push(
    { title: t.kubeconfig, node, commands: [`(${controller}) microk8s config`, 'mkdir c:\\k', 'sftp put c:\\k\\config (never shown)'] },
    {
      title: t.download,
      node,
      commands: [
        `Invoke-WebRequest -Uri ${w.calicoScriptUrl} -OutFile c:\\k\\install-calico-windows.ps1`,
        `c:\\k\\install-calico-windows.ps1 -ReleaseBaseURL "${v.calicoVersion === UNREAD.calicoVersion ? `${w.calicoReleaseBaseUrl}/v<calico>` : calicoReleaseUrl(cluster, v.calicoVersion)}" -ReleaseFile "calico-windows-v${v.calicoVersion}.zip" -KubeVersion "${v.kubeVersion}" -DownloadOnly "yes" -ServiceCidr "${w.serviceCidr}" -DNSServerIPs "${w.dnsIp}"`,
      ],
    },
    { title: t.calico, node, commands: ['$ENV:CNI_BIN_DIR="c:\\program files\\containerd\\cni\\bin"', '$ENV:CNI_CONF_DIR="c:\\program files\\containerd\\cni\\conf"', 'c:\\calicowindows\\install-calico.ps1', 'c:\\calicowindows\\start-calico.ps1'] },
    { title: t.services, node, commands: ['c:\\calicowindows\\kubernetes\\install-kube-services.ps1'] },
    { title: t.firewall, node, commands: ["New-NetFirewallRule -Name 'Kubelet-In-TCP' -DisplayName 'Kubelet (node)' -Enabled True -Direction Inbound -Protocol TCP -Action Allow -LocalPort 10250"] },
    { title: t.kubelet, node, commands: ['Get-NetAdapter; Get-NetIPAddress (the adapter carrying the node address)', `kubelet-service.ps1: InterfaceName="${w.interfaceName ?? '<detected adapter>'}"${flags.length ? `, remove ${flags.join(', ')}` : ', no flag to remove'}`] },
    { title: t.start, node, commands: ['Start-Service kubelet', 'Start-Service kube-proxy'] },
    { title: t.ready, node: controller, commands: ['microk8s kubectl get nodes -o json (until Ready, Windows OS image)'] },
    {
      title: t.pod,
      node: controller,
      commands: [
        `microk8s kubectl run win-verify-<job> --image ${w.testImage} --restart=Never --overrides '{"spec":{"nodeSelector":{"kubernetes.io/os":"windows","kubernetes.io/hostname":"${node}"}}}'`,
        `microk8s kubectl wait --for=condition=Ready pod/win-verify-<job> --timeout=${Math.max(61, Math.round(w.podTimeout / 1000))}s`,
        'microk8s kubectl exec win-verify-<job> -- curl.exe -k -s https://kubernetes',
        'microk8s kubectl delete pod win-verify-<job> (always)',
      ],
    },
  );
  return steps;
}

export function addPlan(cluster: ClusterConfig, node: string, pre?: WindowsPreflight): PlanStep[] {
  const v = pre ?? UNREAD;
  const controller = controllerOf(cluster, pre);
  const t = windowsTitles(node, v);
  const w = cluster.windows;
  const fetch = pre ? pre.calicoctl === 'fetch' : w.fetchCalicoctl;
  return [
    {
      title: t.affinity,
      node: controller,
      commands: [
        ...(fetch ? [`curl -fsSL -o ${w.calicoctlPath} ${pre ? calicoctlUrl(cluster, pre.calicoVersion) : `${w.calicoReleaseBaseUrl}/v<calico>/calicoctl-linux-amd64`} (calicoctl is not on ${controller})`, `chmod 0755 ${w.calicoctlPath}`] : []),
        `KUBECONFIG=/var/snap/microk8s/current/credentials/client.config ${w.calicoctlPath} ipam configure --strictaffinity=true --allow-version-mismatch`,
      ],
    },
    ...installSteps(cluster, node, v, controller, true),
  ];
}

export function removePlan(cluster: ClusterConfig, node: string, pre?: { controller: string }): PlanStep[] {
  const t = windowsTitles(node, UNREAD);
  const controller = controllerOf(cluster, pre);
  return [
    drainPlanStep(node, controller, t.drain),
    { title: t.uninstall, node, commands: ['c:\\calicowindows\\kubernetes\\uninstall-kube-services.ps1', 'c:\\calicowindows\\uninstall-calico.ps1'], destructive: true },
    { title: t.delete, node: controller, commands: [`microk8s kubectl delete node ${node}`], destructive: true },
  ];
}

export function upgradePlan(cluster: ClusterConfig, node: string, pre?: WindowsPreflight): PlanStep[] {
  const v = pre ?? UNREAD;
  const t = windowsTitles(node, v);
  return [
    { title: t.uninstall, node, commands: ['c:\\calicowindows\\kubernetes\\uninstall-kube-services.ps1', 'c:\\calicowindows\\uninstall-calico.ps1'], destructive: true },
    ...installSteps(cluster, node, v, controllerOf(cluster, pre), false),
  ];
}
