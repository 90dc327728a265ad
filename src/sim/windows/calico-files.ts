/**
 * What the Calico for Windows release zip unpacks to `c:\CalicoWindows`, as far as the
 * procedure reads it: `kubernetes\kubelet-service.ps1` with the argument list of that Calico
 * tag (reference §B5: `--logtostderr=true` up to v3.25.1, `--container-runtime=remote` up to
 * v3.25.x; the `kubernetes\` folder is gone from v3.31).
 */

function versionParts(v: string): [number, number, number] {
  const [a = 0, b = 0, c = 0] = v.replace(/^v/, '').split('.').map(Number);
  return [a, b, c];
}

export function calicoAtLeast(version: string, want: string): boolean {
  const [a, b, c] = versionParts(version);
  const [x, y, z] = versionParts(want);
  return a !== x ? a > x : b !== y ? b > y : c >= z;
}

export function hasKubernetesFolder(calico: string): boolean {
  return !calicoAtLeast(calico, '3.31.0');
}

/** kubelet-service.ps1 of a Calico tag (the parts the procedure edits, laid out as in the release). */
export function kubeletServicePs1(calico: string): string {
  const logtostderr = !calicoAtLeast(calico, '3.25.2');
  const runtime = !calicoAtLeast(calico, '3.26.0');
  const iface = calicoAtLeast(calico, '3.23.0') ? 'vEthernet (Ethernet*' : 'Ethernet';
  return [
    '# Copyright (c) Tigera, Inc. All rights reserved.',
    '',
    'Param(',
    '    [string]$NodeIp="",',
    `    [string]$InterfaceName="${iface}"`,
    ')',
    '',
    '$baseDir = "$PSScriptRoot\\.."',
    '. $baseDir\\config.ps1',
    '',
    'Write-Host "Running kubelet service."',
    "Write-Host \"Auto-detecting node IP, looking for interface named like '$InterfaceName' ...\"",
    '$argList = @(`',
    '    "--hostname-override=$env:NODENAME", `',
    '    "--node-ip=$NodeIp", `',
    '    "--v=4",`',
    '    "--cluster-dns=$env:DNS_NAME_SERVERS",`',
    '    "--cluster-domain=cluster.local",`',
    '    "--cgroups-per-qos=false",`',
    ...(logtostderr ? ['    "--logtostderr=true",`'] : []),
    '    "--enforce-node-allocatable=""""",`',
    '    "--kubeconfig=""c:\\k\\config"""`',
    ')',
    '',
    'if (Get-IsContainerdRunning)',
    '{',
    '    Write-Host "Detected containerd running, configuring kubelet for containerd"',
    ...(runtime ? ['    $argList += "--container-runtime=remote"'] : []),
    '    $argList += "--container-runtime-endpoint=npipe:////.//pipe//containerd-containerd"',
    '}',
    '',
    'Write-Host "Start c:\\k\\kubelet.exe"',
    'c:\\k\\kubelet.exe  $argList',
    '',
  ].join('\r\n');
}

/** The InterfaceName default of a kubelet-service.ps1 text, as PowerShell would read it. */
export function interfaceDefault(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('[string]$InterfaceName')) continue;
    const open = t.indexOf('"');
    const close = t.indexOf('"', open + 1);
    return open >= 0 && close > open ? t.slice(open + 1, close) : undefined;
  }
  return undefined;
}

/** PowerShell's -like with `*` wildcards only (case-insensitive). */
export function likeMatch(name: string, pattern: string): boolean {
  const parts = pattern.toLowerCase().split('*');
  const s = name.toLowerCase();
  if (parts.length === 1) return s === parts[0];
  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] ?? '';
    if (i === 0) {
      if (!s.startsWith(p)) return false;
      pos = p.length;
    } else if (i === parts.length - 1) {
      return s.length - p.length >= pos && s.endsWith(p);
    } else {
      const at = s.indexOf(p, pos);
      if (at < 0) return false;
      pos = at + p.length;
    }
  }
  return true;
}
