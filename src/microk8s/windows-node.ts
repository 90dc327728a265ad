/**
 * Typed operations on a Windows worker over SSH: every one is one PowerShell script (see
 * powershell.ts and windows-scripts.ts) whose JSON line is parsed and whose success text is
 * checked. Never `sudo`: the SSH account is an Administrator.
 */
import { WindowsStepError } from '../errors/user-facing.ts';
import type { RemoteShell } from '../ssh/types.ts';
import { OutputParseError } from './errors.ts';
import {
  CALICO_EARLY_EXITS,
  containerdOutcome,
  expectTexts,
  lastLines,
  parseAdapters,
  parseFacts,
  parseKubeletEdit,
  parseServices,
  serviceStatus,
  type ContainerdOutcome,
  type KubeletEdit,
  type NetAdapter,
  type WindowsFacts,
  type WindowsService,
} from './parse-windows.ts';
import { lastJson, runPowerShell, type PsResult, type PsScript } from './powershell.ts';
import * as scripts from './windows-scripts.ts';

export { WindowsStepError } from '../errors/user-facing.ts';

export interface CalicoDownload {
  scriptUrl: string;
  releaseBaseUrl: string;
  releaseFile: string;
  kubeVersion: string;
  serviceCidr: string;
  dnsIp: string;
}

export class WindowsNode {
  constructor(
    readonly shell: RemoteShell,
    private readonly scriptTimeoutMs = 20 * 60_000,
  ) {}

  get name(): string {
    return this.shell.node;
  }

  private async run(script: PsScript, timeoutMs?: number): Promise<PsResult> {
    return runPowerShell(this.shell, script, { timeoutMs: timeoutMs ?? this.scriptTimeoutMs });
  }

  private json(script: PsScript, r: PsResult): unknown {
    try {
      return lastJson(r.stdout, script.name);
    } catch (err) {
      if (r.code !== 0) throw new WindowsStepError(this.name, script.name, `exit code ${r.code}${r.stderr.trim() ? `:\n${lastLines(r.stderr)}` : ''}`);
      if (err instanceof OutputParseError) throw err.onNode(this.name);
      throw err;
    }
  }

  /** Runs one of our own scripts (exit 0 and a JSON line required) and returns the JSON. */
  private async own(script: PsScript, timeoutMs?: number): Promise<unknown> {
    const r = await this.run(script, timeoutMs);
    const value = this.json(script, r);
    if (r.code !== 0) throw new WindowsStepError(this.name, script.name, `exit code ${r.code}${r.stderr.trim() ? `:\n${lastLines(r.stderr)}` : ''}`);
    return value;
  }

  private check(script: PsScript, r: PsResult, wanted: readonly string[]): void {
    const early = CALICO_EARLY_EXITS.find((t) => r.stdout.includes(t));
    if (early) throw new WindowsStepError(this.name, script.name, `it stopped early and exited ${r.code}:\n${lastLines(r.stdout)}`);
    const verdict = expectTexts(r.stdout, r.stderr, r.code, wanted);
    if (!verdict.ok) throw new WindowsStepError(this.name, script.name, verdict.problem);
  }

  /** OS build, account, boot time, services and what is installed (short timeout: a probe). */
  async facts(timeoutMs = 60_000): Promise<WindowsFacts> {
    const script = scripts.factsScript();
    return parseFacts(await this.own(script, timeoutMs));
  }

  /** install-containerd-runtime.ps1 once: installed, a reboot needed, or a failure (thrown). */
  async installContainerd(url: string): Promise<ContainerdOutcome> {
    const script = scripts.installContainerdScript(url);
    const r = await this.run(script);
    let json: unknown;
    try {
      json = lastJson(r.stdout, script.name);
    } catch {
      json = undefined;
    }
    const outcome = containerdOutcome(r.stdout, r.stderr, r.code, json);
    if (outcome.kind === 'failed') throw new WindowsStepError(this.name, script.name, outcome.problem);
    return outcome;
  }

  /** `Restart-Computer -Force`: the connection may drop before the command returns. */
  async reboot(): Promise<void> {
    await this.run(scripts.rebootScript(), 60_000);
  }

  /** Creates `c:\k` and removes an old `c:\k\config`, so the upload can create it afresh. */
  async prepareKubeconfig(): Promise<void> {
    const o = (await this.own(scripts.prepareKubeconfigScript())) as { Dir?: unknown; Config?: unknown };
    if (o.Dir !== true || o.Config !== false) throw new WindowsStepError(this.name, 'prepare c:\\k', 'c:\\k is missing or the old c:\\k\\config could not be removed');
  }

  /** Writes the kubeconfig to `c:\k\config` over SFTP (never in a command line, a log or the audit). */
  async uploadKubeconfig(kubeconfig: string): Promise<void> {
    await this.shell.upload(kubeconfig, scripts.KUBECONFIG_SFTP_PATH, { mode: 0o600 });
  }

  async downloadCalico(v: CalicoDownload): Promise<void> {
    const script = scripts.downloadCalicoScript(v);
    const r = await this.run(script);
    this.check(script, r, ['Downloaded Calico for Windows installation zip file.']);
    const o = this.json(script, r) as { KubeletService?: unknown; Kubelet?: unknown };
    if (o.KubeletService !== true) {
      throw new WindowsStepError(this.name, script.name, `${scripts.KUBELET_SERVICE_PS1} is missing after the download (Calico for Windows v3.31 and later have no kubernetes\\ folder; the cluster's Calico must be ≤ v3.30)`);
    }
    if (o.Kubelet !== true) throw new WindowsStepError(this.name, script.name, `c:\\k\\kubelet.exe is missing after the download of Kubernetes ${v.kubeVersion}`);
  }

  async installCalico(): Promise<WindowsService[]> {
    const script = scripts.installCalicoScript();
    const r = await this.run(script);
    this.check(script, r, ['Done installing Felix service.', 'Done, the Calico services are running:']);
    return this.requireRunning(script, r, ['CalicoNode', 'CalicoFelix']);
  }

  async installKubeServices(): Promise<WindowsService[]> {
    const script = scripts.installKubeServicesScript();
    const r = await this.run(script);
    this.check(script, r, ['Done installing kubelet service.', 'Done installing kube-proxy service.']);
    const services = parseServices((this.json(script, r) as { Services?: unknown }).Services);
    const missing = ['kubelet', 'kube-proxy'].filter((n) => !serviceStatus(services, n));
    if (missing.length > 0) throw new WindowsStepError(this.name, script.name, `no ${missing.join(' or ')} service after the install`);
    return services;
  }

  async firewallRule(): Promise<string> {
    const o = (await this.own(scripts.firewallScript())) as { Name?: unknown; Enabled?: unknown };
    if (o.Name !== scripts.FIREWALL_RULE || o.Enabled !== 'True') throw new WindowsStepError(this.name, 'add the kubelet firewall rule', `the rule ${scripts.FIREWALL_RULE} is not there and enabled`);
    return scripts.FIREWALL_RULE;
  }

  async adapters(): Promise<NetAdapter[]> {
    return parseAdapters(await this.own(scripts.adaptersScript()));
  }

  async editKubeletService(interfaceName: string, removeFlags: readonly string[]): Promise<KubeletEdit> {
    const script = scripts.editKubeletServiceScript(interfaceName, removeFlags);
    const edit = parseKubeletEdit(await this.own(script));
    if (edit.left.length > 0) throw new WindowsStepError(this.name, script.name, `${edit.left.join(', ')} still in ${scripts.KUBELET_SERVICE_PS1}`);
    if (!edit.interfaceLine.includes(`"${interfaceName}"`)) throw new WindowsStepError(this.name, script.name, `the InterfaceName parameter was not set (its line now: ${edit.interfaceLine || 'none'})`);
    return edit;
  }

  async startKubeServices(): Promise<WindowsService[]> {
    const script = scripts.startKubeServicesScript();
    const r = await this.run(script);
    if (r.code !== 0) throw new WindowsStepError(this.name, script.name, `exit code ${r.code}${r.stderr.trim() ? `:\n${lastLines(r.stderr)}` : ''}`);
    return parseServices((this.json(script, r) as { Services?: unknown }).Services);
  }

  /** The last lines of `c:\k\kubelet.err.log`. */
  async kubeletLog(): Promise<string[]> {
    const o = (await this.own(scripts.kubeletLogScript(), 60_000)) as { Lines?: unknown };
    return (Array.isArray(o.Lines) ? o.Lines : o.Lines === undefined || o.Lines === null ? [] : [o.Lines]).map(String);
  }

  /** uninstall-kube-services.ps1 then uninstall-calico.ps1; afterwards none of their services may be left. */
  async uninstall(): Promise<void> {
    const script = scripts.uninstallScript();
    const r = await this.run(script);
    const services = parseServices((this.json(script, r) as { Services?: unknown }).Services);
    if (services.length > 0) throw new WindowsStepError(this.name, script.name, `services still installed: ${services.map((s) => `${s.name} (${s.status})`).join(', ')}`);
  }

  private requireRunning(script: PsScript, r: PsResult, names: readonly string[]): WindowsService[] {
    const services = parseServices((this.json(script, r) as { Services?: unknown }).Services);
    const notRunning = names.filter((n) => serviceStatus(services, n) !== 'Running');
    if (notRunning.length > 0) {
      throw new WindowsStepError(this.name, script.name, notRunning.map((n) => `${n} is ${serviceStatus(services, n) ?? 'not installed'}`).join(', '));
    }
    return services;
  }
}
