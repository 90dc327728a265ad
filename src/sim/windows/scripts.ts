/**
 * The PowerShell scripts a simulated Windows node answers, recognised from their decoded text,
 * with the real scripts' outputs (reference §B2–B4) and their habits: Microsoft's containerd
 * installer reboots the machine the first time and reports failures with Write-Error and exit 0;
 * install-calico-windows.ps1 exits 0 after "Calico services are still running"; the uninstall
 * scripts always exit 0. Values come from the script's `$Name = '…'` lines.
 */
import { CHANNELS } from '../catalogue.ts';
import type { CommandResult } from '../context.ts';
import type { SimNode } from '../node.ts';
import type { SimState } from '../state.ts';
import { calicoAtLeast, hasKubernetesFolder, kubeletServicePs1 } from './calico-files.ts';
import type { SimWindows } from './host.ts';
import { KUBELET_ERR_LOG, KUBELET_SERVICE, startKubelet, syncWindowsNode } from './join.ts';
import { callLine, commandWords, list, namedArgs, str, type ParsedScript } from './ps-parse.ts';

export interface WinScriptContext {
  state: SimState;
  node: SimNode;
  win: SimWindows;
  now(): number;
  /** The machine restarts: the connection drops now and SSH comes back after a while. */
  reboot(): void;
}

export type WinOutcome = { kind: 'result'; result: CommandResult } | { kind: 'drop'; stdout: string };

const ok = (stdout: string, stderr = ''): WinOutcome => ({ kind: 'result', result: { stdout, stderr, code: 0 } });
const json = (value: unknown): string => `${JSON.stringify(value)}\r\n`;
const lines = (...l: string[]): string => l.map((x) => `${x}\r\n`).join('');

/** A terminating error as PowerShell 5.1 serialises it on redirected stderr. */
export function psError(message: string, command: string): WinOutcome {
  const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('\n', '_x000A_');
  const text = `${command} : ${message}\nAt line:1 char:1\n+ ${command}\n    + CategoryInfo          : NotSpecified: (:) [${command}], Exception\n`;
  return { kind: 'result', result: { stdout: '', stderr: `#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">${esc(text)}</S></Objs>`, code: 1 } };
}

const KNOWN_SERVICES: Record<string, string> = {
  containerd: 'containerd',
  CalicoNode: 'Calico Windows Startup',
  CalicoFelix: 'Calico Windows Agent',
  kubelet: 'kubelet service',
  'kube-proxy': 'kube-proxy service',
};

function services(win: SimWindows, names: readonly string[]): Array<{ Name: string; Status: string }> {
  return names.filter((n) => win.services.has(n)).map((n) => ({ Name: n, Status: win.services.get(n)?.status ?? 'Stopped' }));
}

function addService(win: SimWindows, name: string, status: 'Running' | 'Stopped'): void {
  win.services.set(name, { status, displayName: KNOWN_SERVICES[name] ?? name });
}

export function facts(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const w = c.win;
  return ok(json({
    ProductName: w.productName, CurrentBuild: String(w.build), UBR: w.ubr, ComputerName: c.node.name.toUpperCase(), Admin: true,
    LastBoot: new Date(w.lastBoot).toISOString(), Services: services(w, list(s, 'Services')), CalicoWindows: w.fs.exists('c:\\CalicoWindows'), KubeConfig: w.fs.exists('c:\\k\\config'),
  }));
}

function downloaded(c: WinScriptContext, url: string | undefined, out: string, text: string): boolean {
  if (!url || !/^https?:\/\//.test(url)) return false;
  c.win.fs.put(out, text, c.now());
  return true;
}

export function installContainerd(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const w = c.win;
  if (!downloaded(c, str(s, 'ScriptUrl'), 'c:\\k\\install-containerd-runtime.ps1', '# install-containerd-runtime.ps1\r\n')) return psError('Invalid URI: The format of the URI could not be determined.', 'Invoke-WebRequest');
  const head = lines('Querying status of Windows feature: Containers...');
  if (w.containersFeature === 'off') {
    w.containersFeature = 'pending-reboot';
    w.fs.put('c:\\k\\install-container-runtime.err', '', c.now());
    c.reboot();
    return { kind: 'drop', stdout: head + lines('Enabling feature Containers', 'Restart is required; restarting now...') };
  }
  if (w.faults.containerdFailsQuietly) {
    w.fs.put('c:\\k\\install-container-runtime.err', '', c.now());
    const out = head + lines('Feature Containers is already enabled.', 'Downloading containerd, nerdCTL, and Windows CNI binaries...');
    const err = 'install-containerd-runtime.ps1 : Download failed: The remote server returned an error: (404) Not Found.\r\n';
    return ok(out + json({ ErrFile: true, Containerd: '' }), err);
  }
  if (w.running('containerd')) return ok(head + lines('Containerd is already installed.') + json({ ErrFile: false, Containerd: 'Running' }));
  addService(w, 'containerd', 'Running');
  w.fs.mkdirs('c:\\program files\\containerd\\cni\\bin');
  w.fs.removeTree('c:\\k\\install-container-runtime.err');
  const out = head + lines(
    'Feature Containers is already enabled.',
    'Downloading containerd, nerdCTL, and Windows CNI binaries...',
    'Containerd binaries added to C:\\Program Files\\containerd\\bin',
    'Configuring the containerd service',
    'version = 2',
    'root = "C:\\\\ProgramData\\\\containerd\\\\root"',
    'Waiting for Containerd daemon...',
    'Successfully connected to Containerd Daemon.',
    'The following images are present on this machine:',
    'REPOSITORY    TAG       IMAGE ID    CREATED    PLATFORM    SIZE    BLOB SIZE',
    'Script complete!',
  );
  return ok(out + json({ ErrFile: false, Containerd: 'Running' }));
}

export function prepare(c: WinScriptContext): WinOutcome {
  c.win.fs.mkdirs('c:\\k');
  c.win.fs.removeTree('c:\\k\\config');
  return ok(json({ Dir: true, Config: false }));
}

/** install-calico-windows.ps1 -ReleaseBaseURL … -ReleaseFile … -KubeVersion … -DownloadOnly yes … */
export function downloadCalico(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const w = c.win;
  if (!(w.fs.text('c:\\k\\config') ?? '').includes('server: https://')) return psError('c:\\k\\config has no "server: https://" line', 'throw');
  if (!downloaded(c, str(s, 'ScriptUrl'), 'c:\\k\\install-calico-windows.ps1', '# install-calico-windows.ps1\r\n')) return psError('Invalid URI: The format of the URI could not be determined.', 'Invoke-WebRequest');
  const call = callLine(s, 'install-calico-windows.ps1');
  if (!call) return psError("The term 'install-calico-windows.ps1' is not recognized", 'install-calico-windows.ps1');
  const args = namedArgs(commandWords(call.slice(call.indexOf('&') + 1), s.vars).slice(1));
  const base = args.get('releasebaseurl') ?? '';
  const file = args.get('releasefile') ?? '';
  const kube = args.get('kubeversion') ?? '';
  const m = /\/v(\d+\.\d+\.\d+)\/?$/.exec(base);
  const calico = m?.[1];
  const head = lines('Downloading helper.psm1 and helper.v2.psm1 ...');
  if (w.faults.calicoSaysStillRunning || w.running('CalicoNode') || w.running('CalicoFelix')) {
    return ok(head + lines('Calico services are still running. In order to re-run the installation script, stop the CalicoNode and CalicoFelix services or uninstall them by running: c:\\CalicoWindows\\uninstall-calico.ps1') + json({ KubeletService: w.fs.exists(KUBELET_SERVICE), Kubelet: w.fs.exists('c:\\k\\kubelet.exe') }));
  }
  const known = Object.values(CHANNELS).some((r) => r.version === `v${kube}`);
  if (!calico || file !== `calico-windows-v${calico}.zip`) {
    return ok(head + lines(`Downloading [${base}/${file}] => [c:\\calico-windows.zip]`, 'Exception calling "DownloadFile" with "2" argument(s): "The remote server returned an error: (404) Not Found."') + json({ KubeletService: false, Kubelet: false }));
  }
  if (!known) return ok(head + lines(`Downloading Kubernetes ${kube} node binaries ...`, 'Exception calling "DownloadFile" with "2" argument(s): "The remote server returned an error: (404) Not Found."') + json({ KubeletService: false, Kubelet: false }));
  w.fs.removeTree('c:\\CalicoWindows');
  for (const f of ['install-calico.ps1', 'start-calico.ps1', 'stop-calico.ps1', 'uninstall-calico.ps1', 'config.ps1']) w.fs.put(`c:\\CalicoWindows\\${f}`, `# ${f}\r\n`, c.now());
  if (hasKubernetesFolder(calico)) {
    for (const f of ['install-kube-services.ps1', 'uninstall-kube-services.ps1', 'kube-proxy-service.ps1']) w.fs.put(`c:\\CalicoWindows\\kubernetes\\${f}`, `# ${f}\r\n`, c.now());
    w.fs.put(KUBELET_SERVICE, kubeletServicePs1(calico), c.now());
  }
  w.fs.put('c:\\k\\kubelet.exe', `kubelet v${kube}`, c.now());
  w.kubeVersion = kube;
  w.calicoVersion = calico;
  const svcCidr = args.get('servicecidr') ?? '10.96.0.0/12';
  const dns = args.get('dnsserverips') ?? '10.96.0.10';
  const out = head + lines(
    'c:\\calico-windows.zip not found, downloading Calico for Windows release...',
    `Downloaded [${base}/${file}] => [c:\\calico-windows.zip]`,
    'Unzip Calico for Windows release...',
    `Downloading Kubernetes ${kube} node binaries ...`,
    'Setup Calico for Windows...',
    'Calico running in kube-system namespace',
    'Backend networking is vxlan',
    `Service CIDR ${svcCidr}, DNS ${dns}`,
    'Downloaded Calico for Windows installation zip file.',
  );
  return ok(out + json({ KubeletService: w.fs.exists(KUBELET_SERVICE), Kubelet: true }));
}

export function installCalico(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const w = c.win;
  const envSet = s.lines.some((l) => l.trim().toUpperCase().startsWith('$ENV:CNI_BIN_DIR ='));
  const bin = envSet ? (str(s, 'CniBinDir') ?? '') : 'C:\\Program Files\\containerd\\bin\\cni\\bin';
  if (!w.fs.exists('c:\\CalicoWindows\\install-calico.ps1')) return psError("The term 'c:\\CalicoWindows\\install-calico.ps1' is not recognized as the name of a cmdlet, function, script file, or operable program.", '&');
  if (!w.fs.exists(bin)) return psError(`CNI binary directory ${bin} doesn't exist.  Please create it and ensure kubelet is configured with matching --cni-bin-dir.`, 'install-calico.ps1');
  addService(w, 'CalicoNode', 'Running');
  addService(w, 'CalicoFelix', 'Running');
  w.vSwitch = true;
  const boot = new Date(w.lastBoot).toUTCString();
  const out = lines(
    'Validating configuration...',
    'Installing node startup service...',
    'Done installing startup service.',
    'Installing Felix service...',
    'Done installing Felix service.',
    `Copying CNI binaries to ${bin}`,
    `Writing CNI configuration to ${str(s, 'CniConfDir') ?? ''}\\10-calico.conf.`,
    'Wrote CNI configuration.',
    'Starting Calico...',
    'This may take several seconds if the vSwitch needs to be created.',
    'Waiting for Calico initialisation to finish...',
    `Waiting for Calico initialisation to finish...StoredLastBootTime , CurrentLastBootTime ${boot}`,
    'Calico initialisation finished.',
    'Done, the Calico services are running:',
    '',
    'Status   Name               DisplayName',
    '------   ----               -----------',
    'Running  CalicoFelix        Calico Windows Agent',
    'Running  CalicoNode         Calico Windows Startup',
  );
  return ok(out + json({ Services: services(w, list(s, 'Services')) }));
}

export function installKubeServices(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const w = c.win;
  if (!w.fs.exists('c:\\CalicoWindows\\kubernetes\\install-kube-services.ps1')) return psError("The term 'c:\\CalicoWindows\\kubernetes\\install-kube-services.ps1' is not recognized as the name of a cmdlet, function, script file, or operable program.", '&');
  const out: string[] = [];
  for (const name of ['kubelet', 'kube-proxy']) {
    if (!w.services.has(name)) addService(w, name, 'Stopped');
    out.push(`Installing ${name} service...`, `Service "${name}" installed successfully!`, `Set parameter "AppParameters" for service "${name}".`, `Done installing ${name} service.`);
  }
  return ok(lines(...out) + json({ Services: services(w, list(s, 'Services')) }));
}

export function firewall(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const name = str(s, 'RuleName') ?? '';
  c.win.firewallRules.add(name);
  return ok(json({ Name: name, Enabled: 'True' }));
}

export function adapters(c: WinScriptContext): WinOutcome {
  const w = c.win;
  const found = [{ Name: w.adapterName, Status: 'Up', InterfaceDescription: w.vSwitch ? 'Hyper-V Virtual Ethernet Adapter' : 'Microsoft Hyper-V Network Adapter' }];
  const addrs = [{ InterfaceAlias: w.adapterName, IPAddress: c.node.ip }, { InterfaceAlias: 'Loopback Pseudo-Interface 1', IPAddress: '127.0.0.1' }];
  return ok(json({ Adapters: found, Addresses: addrs }));
}

/** The line edit of kubelet-service.ps1, done on the simulated file the way the script does it. */
export function editKubeletService(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const w = c.win;
  const file = str(s, 'File') ?? '';
  const text = w.fs.text(file);
  if (text === undefined) return psError(`Exception calling "ReadAllLines" with "1" argument(s): "Could not find file '${file}'."`, 'ReadAllLines');
  const iface = str(s, 'InterfaceName') ?? '';
  const flags = list(s, 'RemoveFlags');
  let removed = 0;
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.replace(/\r$/, '');
    if (flags.some((f) => line.includes(`"${f}"`))) {
      removed++;
      continue;
    }
    if (line.trimStart().startsWith('[string]$InterfaceName')) line = `    [string]$InterfaceName="${iface}"${line.trimEnd().endsWith(',') ? ',' : ''}`;
    out.push(line);
  }
  const next = out.join('\r\n');
  w.fs.put(file, next, c.now());
  const left = flags.filter((f) => next.includes(`"${f}"`));
  return ok(json({ Removed: removed, Left: left, InterfaceLine: out.filter((l) => l.trimStart().startsWith('[string]$InterfaceName')).join('') }));
}

export function startServices(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const w = c.win;
  for (const line of s.lines.filter((l) => l.startsWith('Start-Service'))) {
    const name = commandWords(line, s.vars)[2] ?? '';
    const svc = w.services.get(name);
    if (!svc) return psError(`Cannot find any service with service name '${name}'.`, 'Start-Service');
    svc.status = 'Running';
    if (name === 'kubelet') startKubelet(w, c.now());
  }
  syncWindowsNode(c.state, c.node);
  return ok(json({ Services: services(w, list(s, 'Services')) }));
}

export function kubeletLog(c: WinScriptContext): WinOutcome {
  const text = c.win.fs.text(KUBELET_ERR_LOG) ?? '';
  return ok(json({ Lines: text.split('\r\n').filter((l) => l !== '').slice(-20) }));
}

/** uninstall-kube-services.ps1 + uninstall-calico.ps1 (both exit 0 whatever happens). */
export function uninstall(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const w = c.win;
  const out: string[] = [];
  if (w.fs.exists('c:\\CalicoWindows\\kubernetes\\uninstall-kube-services.ps1')) {
    out.push('Stopping kubelet kube-proxy services if they are running...', 'Service "kube-proxy" removed successfully!', 'Service "kubelet" removed successfully!', 'Done');
    w.services.delete('kubelet');
    w.services.delete('kube-proxy');
  }
  if (w.fs.exists('c:\\CalicoWindows\\uninstall-calico.ps1')) {
    out.push('Stopping Calico if it is running...', 'Removing Calico CNI conf file at c:\\program files\\containerd\\cni\\conf\\10-calico.conf ...', 'Done.');
    w.services.delete('CalicoNode');
    w.services.delete('CalicoFelix');
  }
  syncWindowsNode(c.state, c.node);
  return ok(lines(...out) + json({ Services: services(w, list(s, 'Services')) }));
}

/** Which script this is, by what it runs (order matters: uninstall-… contains install-…). */
export function dispatchScript(c: WinScriptContext, s: ParsedScript): WinOutcome {
  const t = s.text;
  if (t.includes("HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion")) return facts(c, s);
  if (t.includes('Restart-Computer')) {
    c.reboot();
    return ok('');
  }
  if (t.includes('install-containerd-runtime.ps1')) return installContainerd(c, s);
  if (t.includes('uninstall-calico.ps1')) return uninstall(c, s);
  if (t.includes('install-calico-windows.ps1')) return downloadCalico(c, s);
  if (t.includes('start-calico.ps1')) return installCalico(c, s);
  if (t.includes('install-kube-services.ps1')) return installKubeServices(c, s);
  if (t.includes('NetFirewallRule')) return firewall(c, s);
  if (t.includes('Get-NetAdapter')) return adapters(c);
  if (t.includes('ReadAllLines($File)')) return editKubeletService(c, s);
  if (t.includes('Start-Service')) return startServices(c, s);
  if (t.includes('kubelet.err.log')) return kubeletLog(c);
  if (t.includes("Remove-Item -Path 'c:\\k\\config'")) return prepare(c);
  return { kind: 'result', result: { stdout: '', stderr: 'mk8s-sim: this PowerShell script is not simulated\r\n', code: 1 } };
}

export { calicoAtLeast };
