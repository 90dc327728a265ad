/**
 * The PowerShell scripts of the seed's Windows procedure, one per step. Each body is constant
 * text; the values arrive as variables (see powershell.ts). Third-party scripts (Microsoft's
 * containerd installer, the Calico for Windows scripts) run with `$ErrorActionPreference =
 * 'Continue'`, as they expect: their success is read from their output, since several of them
 * print a failure and exit 0 (reference §B2–B4). Every script ends with one JSON line.
 */
import type { PsScript } from './powershell.ts';

export const K_DIR = 'c:\\k';
export const KUBECONFIG_PATH = 'c:\\k\\config';
/** Where the kubeconfig is written over SFTP (Win32-OpenSSH takes drive paths with forward slashes). */
export const KUBECONFIG_SFTP_PATH = 'C:/k/config';
export const CALICO_DIR = 'c:\\CalicoWindows';
export const KUBELET_SERVICE_PS1 = 'c:\\CalicoWindows\\kubernetes\\kubelet-service.ps1';
export const CNI_BIN_DIR = 'c:\\program files\\containerd\\cni\\bin';
export const CNI_CONF_DIR = 'c:\\program files\\containerd\\cni\\conf';
export const FIREWALL_RULE = 'Kubelet-In-TCP';
export const NODE_SERVICES = ['containerd', 'CalicoNode', 'CalicoFelix', 'kubelet', 'kube-proxy'] as const;

/** The services' states as strings (ConvertTo-Json in PowerShell 5.1 prints the enum as a number). */
const SERVICES_JSON = "@(Get-Service -Name $Services -ErrorAction SilentlyContinue | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Status = [string]$_.Status } })";

/** What the node is: OS build, account, boot time, services, what is installed. */
export function factsScript(): PsScript {
  return {
    name: 'read the node',
    vars: { Services: [...NODE_SERVICES] },
    body: `
$os = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
$boot = (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime
$admin = ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
$svc = ${SERVICES_JSON}
[pscustomobject]@{ ProductName = $os.ProductName; CurrentBuild = $os.CurrentBuild; UBR = $os.UBR; ComputerName = $env:COMPUTERNAME; Admin = $admin; LastBoot = $boot.ToUniversalTime().ToString('o'); Services = $svc; CalicoWindows = (Test-Path -Path '${CALICO_DIR}'); KubeConfig = (Test-Path -Path '${KUBECONFIG_PATH}') } | ConvertTo-Json -Compress -Depth 3
`,
  };
}

/** Seed "Prepare the Windows node" 1: Microsoft's installer (it may reboot the machine). */
export function installContainerdScript(url: string): PsScript {
  return {
    name: 'install containerd',
    vars: { ScriptUrl: url },
    body: `
New-Item -ItemType Directory -Force -Path '${K_DIR}' | Out-Null
Set-Location -Path '${K_DIR}'
Invoke-WebRequest -UseBasicParsing -Uri $ScriptUrl -OutFile '${K_DIR}\\install-containerd-runtime.ps1'
$ErrorActionPreference = 'Continue'
& '${K_DIR}\\install-containerd-runtime.ps1'
$ErrorActionPreference = 'Stop'
Unregister-ScheduledTask -TaskName 'ContainerBootstrap' -Confirm:$false -ErrorAction SilentlyContinue
$svc = Get-Service -Name 'containerd' -ErrorAction SilentlyContinue
[pscustomobject]@{ ErrFile = (Test-Path -Path '${K_DIR}\\install-container-runtime.err'); Containerd = [string]$svc.Status } | ConvertTo-Json -Compress
`,
  };
}

/** `Restart-Computer -Force`: the installer asked for a reboot it did not do itself. */
export function rebootScript(): PsScript {
  return { name: 'restart the computer', body: 'Restart-Computer -Force' };
}

/** Seed "Prepare the Windows node" 2, before the upload: `c:\k` exists, no old config in the way. */
export function prepareKubeconfigScript(): PsScript {
  return {
    name: 'prepare c:\\k',
    body: `
New-Item -ItemType Directory -Force -Path '${K_DIR}' | Out-Null
Remove-Item -Path '${KUBECONFIG_PATH}' -Force -ErrorAction SilentlyContinue
[pscustomobject]@{ Dir = (Test-Path -Path '${K_DIR}'); Config = (Test-Path -Path '${KUBECONFIG_PATH}') } | ConvertTo-Json -Compress
`,
  };
}

/** Seed "Install Calico" 1–2: fetch install-calico-windows.ps1, download Calico and the Kubernetes binaries. */
export function downloadCalicoScript(v: { scriptUrl: string; releaseBaseUrl: string; releaseFile: string; kubeVersion: string; serviceCidr: string; dnsIp: string }): PsScript {
  return {
    name: 'download Calico and Kubernetes',
    vars: { ScriptUrl: v.scriptUrl, ReleaseBaseURL: v.releaseBaseUrl, ReleaseFile: v.releaseFile, KubeVersion: v.kubeVersion, ServiceCidr: v.serviceCidr, DNSServerIPs: v.dnsIp },
    body: `
$server = Select-String -Path '${KUBECONFIG_PATH}' -Pattern 'server: https://' -SimpleMatch -Quiet
if (-not $server) { throw '${KUBECONFIG_PATH} has no "server: https://" line' }
Invoke-WebRequest -UseBasicParsing -Uri $ScriptUrl -OutFile '${K_DIR}\\install-calico-windows.ps1'
$ErrorActionPreference = 'Continue'
& '${K_DIR}\\install-calico-windows.ps1' -ReleaseBaseURL $ReleaseBaseURL -ReleaseFile $ReleaseFile -KubeVersion $KubeVersion -DownloadOnly 'yes' -ServiceCidr $ServiceCidr -DNSServerIPs $DNSServerIPs
$ErrorActionPreference = 'Stop'
[pscustomobject]@{ KubeletService = (Test-Path -Path '${KUBELET_SERVICE_PS1}'); Kubelet = (Test-Path -Path '${K_DIR}\\kubelet.exe') } | ConvertTo-Json -Compress
`,
  };
}

/** Seed "Install Calico" 3: the CNI dirs, install-calico.ps1, start-calico.ps1. */
export function installCalicoScript(): PsScript {
  return {
    name: 'install and start Calico',
    vars: { CniBinDir: CNI_BIN_DIR, CniConfDir: CNI_CONF_DIR, Services: ['CalicoNode', 'CalicoFelix'] },
    body: `
New-Item -ItemType Directory -Force -Path $CniBinDir, $CniConfDir | Out-Null
$ENV:CNI_BIN_DIR = $CniBinDir
$ENV:CNI_CONF_DIR = $CniConfDir
$ErrorActionPreference = 'Continue'
& '${CALICO_DIR}\\install-calico.ps1'
& '${CALICO_DIR}\\start-calico.ps1'
$ErrorActionPreference = 'Stop'
$svc = ${SERVICES_JSON}
[pscustomobject]@{ Services = $svc } | ConvertTo-Json -Compress -Depth 3
`,
  };
}

/** Seed "Install Calico" 4: the kubelet and kube-proxy services. */
export function installKubeServicesScript(): PsScript {
  return {
    name: 'install the Kubernetes services',
    vars: { Services: ['kubelet', 'kube-proxy'] },
    body: `
$ErrorActionPreference = 'Continue'
& '${CALICO_DIR}\\kubernetes\\install-kube-services.ps1'
$ErrorActionPreference = 'Stop'
$svc = ${SERVICES_JSON}
[pscustomobject]@{ Services = $svc } | ConvertTo-Json -Compress -Depth 3
`,
  };
}

/** Seed "Install Calico" 5: the inbound rule for the kubelet's port (kubectl logs/exec). */
export function firewallScript(): PsScript {
  return {
    name: 'add the kubelet firewall rule',
    vars: { RuleName: FIREWALL_RULE },
    body: `
$rule = Get-NetFirewallRule -Name $RuleName -ErrorAction SilentlyContinue
if (-not $rule) { New-NetFirewallRule -Name $RuleName -DisplayName 'Kubelet (node)' -Enabled True -Direction Inbound -Protocol TCP -Action Allow -LocalPort 10250 | Out-Null }
$rule = Get-NetFirewallRule -Name $RuleName
[pscustomobject]@{ Name = $rule.Name; Enabled = [string]$rule.Enabled } | ConvertTo-Json -Compress
`,
  };
}

/** Seed "Install Calico" 6, the `ipconfig` part: adapters and their IPv4 addresses. */
export function adaptersScript(): PsScript {
  return {
    name: 'read the network adapters',
    body: `
$a = @(Get-NetAdapter | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Status = [string]$_.Status; InterfaceDescription = $_.InterfaceDescription } })
$ip = @(Get-NetIPAddress -AddressFamily IPv4 | ForEach-Object { [pscustomobject]@{ InterfaceAlias = $_.InterfaceAlias; IPAddress = $_.IPAddress } })
[pscustomobject]@{ Adapters = $a; Addresses = $ip } | ConvertTo-Json -Compress -Depth 3
`,
  };
}

/**
 * Seed "Install Calico" 6–7, the notepad edits of kubelet-service.ps1: the `InterfaceName`
 * default set to the adapter, and every line passing one of `removeFlags` dropped (the
 * `"--logtostderr=true",` line of the argument list, `$argList += "--container-runtime=remote"`).
 */
export function editKubeletServiceScript(interfaceName: string, removeFlags: readonly string[]): PsScript {
  return {
    name: 'edit kubelet-service.ps1',
    vars: { File: KUBELET_SERVICE_PS1, InterfaceName: interfaceName, RemoveFlags: removeFlags },
    body: `
$out = New-Object System.Collections.Generic.List[string]
$removed = 0
foreach ($line in [IO.File]::ReadAllLines($File)) {
  $drop = $false
  foreach ($flag in $RemoveFlags) { if ($line.Contains('"' + $flag + '"')) { $drop = $true } }
  if ($drop) { $removed++; continue }
  if ($line.TrimStart().StartsWith('[string]$InterfaceName')) { $comma = ''; if ($line.TrimEnd().EndsWith(',')) { $comma = ',' }; $line = '    [string]$InterfaceName="' + $InterfaceName + '"' + $comma }
  $out.Add($line)
}
[IO.File]::WriteAllLines($File, $out)
$text = [IO.File]::ReadAllText($File)
$left = @($RemoveFlags | Where-Object { $text.Contains('"' + $_ + '"') })
$iface = @($out | Where-Object { $_.TrimStart().StartsWith('[string]$InterfaceName') })
[pscustomobject]@{ Removed = $removed; Left = $left; InterfaceLine = ($iface -join '') } | ConvertTo-Json -Compress
`,
  };
}

/** Seed "Install Calico" 8: start kubelet and kube-proxy. */
export function startKubeServicesScript(): PsScript {
  return {
    name: 'start kubelet and kube-proxy',
    vars: { Services: ['kubelet', 'kube-proxy'] },
    body: `
Start-Service -Name 'kubelet'
Start-Service -Name 'kube-proxy'
$svc = ${SERVICES_JSON}
[pscustomobject]@{ Services = $svc } | ConvertTo-Json -Compress -Depth 3
`,
  };
}

/** The last lines of the kubelet's error log (why a node does not join). */
export function kubeletLogScript(): PsScript {
  return {
    name: 'read the kubelet log',
    vars: { Log: `${K_DIR}\\kubelet.err.log` },
    body: `
$lines = @()
if (Test-Path -Path $Log) { $lines = @(Get-Content -Path $Log -Tail 20) }
[pscustomobject]@{ Lines = $lines } | ConvertTo-Json -Compress
`,
  };
}

/** Seed "Uninstall" 1–2: uninstall-kube-services.ps1 and uninstall-calico.ps1 (both always exit 0). */
export function uninstallScript(): PsScript {
  return {
    name: 'uninstall the node components',
    vars: { Services: ['CalicoNode', 'CalicoFelix', 'kubelet', 'kube-proxy'] },
    body: `
$ErrorActionPreference = 'Continue'
if (Test-Path -Path '${CALICO_DIR}\\kubernetes\\uninstall-kube-services.ps1') { & '${CALICO_DIR}\\kubernetes\\uninstall-kube-services.ps1' }
if (Test-Path -Path '${CALICO_DIR}\\uninstall-calico.ps1') { & '${CALICO_DIR}\\uninstall-calico.ps1' }
$ErrorActionPreference = 'Stop'
$svc = ${SERVICES_JSON}
[pscustomobject]@{ Services = $svc } | ConvertTo-Json -Compress -Depth 3
`,
  };
}
