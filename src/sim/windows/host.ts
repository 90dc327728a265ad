/**
 * A simulated Windows Server 2022 worker: OS build, boot time, Windows features, services,
 * network adapters, firewall rules, and files under `c:\` (a SimFs whose paths are Windows
 * paths: `c:\k\config`, `C:/k/config` and `/C:/k/config` are one file, case-insensitive).
 */
import { posix } from 'node:path';
import { SimFs } from '../fs.ts';

export type ServiceStatus = 'Running' | 'Stopped';

export interface SimWindowsOptions {
  /** default 587 (20348.587, the seed's example); 2582 is the KB5040437 build */
  ubr?: number;
  /** The adapter's name before Calico's vSwitch exists (default `Ethernet`). */
  adapter?: string;
  /** default true: the Containers feature needs a reboot on the first containerd install */
  rebootOnContainerd?: boolean;
}

/** Injected misbehaviour of the third-party scripts (tests). */
export interface SimWindowsFaults {
  /** install-containerd-runtime.ps1 fails inside its try/catch: Write-Error, exit 0, the .err marker left. */
  containerdFailsQuietly?: boolean;
  /** install-calico-windows.ps1 stops at "Calico services are still running" even when they are not. */
  calicoSaysStillRunning?: boolean;
}

/** Windows paths as one POSIX-like key: `/c:/k/config`. */
export function windowsKey(path: string, home: string): string {
  let p = path.replaceAll('\\', '/');
  if (/^\/[A-Za-z]:/.test(p)) p = p.slice(1);
  if (!/^[A-Za-z]:/.test(p)) p = `${home.slice(1)}/${p}`;
  let out = posix.normalize(`/${p.toLowerCase()}`);
  if (out.length > 1 && out.endsWith('/')) out = out.slice(0, -1);
  return out;
}

export class WindowsFs extends SimFs {
  constructor(user: string) {
    super(user, () => [], () => new Map());
    for (const d of ['/c:', '/c:/users', '/c:/windows', '/c:/program files', `/c:/users/${user.toLowerCase()}`, '/c:/programdata']) this.dirs.set(d, { owner: user, mode: 0o755 });
  }

  override get home(): string {
    return `/c:/users/${this.user.toLowerCase()}`;
  }

  override resolve(path: string): string {
    return windowsKey(path, this.home);
  }

  /** New-Item -ItemType Directory -Force (every missing parent too). */
  mkdirs(path: string): void {
    const parts = this.resolve(path).split('/').filter(Boolean);
    let cur = '';
    for (const part of parts) {
      cur += `/${part}`;
      if (!this.dirs.has(cur)) this.dirs.set(cur, { owner: this.user, mode: 0o755 });
    }
  }

  exists(path: string): boolean {
    const p = this.resolve(path);
    return this.files.has(p) || this.dirs.has(p);
  }

  text(path: string): string | undefined {
    return this.files.get(this.resolve(path))?.data.toString('utf8');
  }

  put(path: string, text: string, now: number): void {
    const p = this.resolve(path);
    this.mkdirs(posix.dirname(p));
    this.files.set(p, { data: Buffer.from(text, 'utf8'), owner: this.user, mode: 0o644, mtimeMs: now });
  }

  /** Remove-Item -Recurse: the path and everything under it. */
  removeTree(path: string): void {
    const p = this.resolve(path);
    for (const k of this.files.keys()) if (k === p || k.startsWith(`${p}/`)) this.files.delete(k);
    for (const k of this.dirs.keys()) if (k === p || k.startsWith(`${p}/`)) this.dirs.delete(k);
  }
}

export interface SimService {
  status: ServiceStatus;
  displayName: string;
}

export class SimWindows {
  readonly productName = 'Windows Server 2022 Datacenter';
  readonly build = 20348;
  ubr: number;
  /** Epoch ms of the last boot. */
  lastBoot: number;
  /** The Containers feature: installed, or enabled and waiting for a reboot. */
  containersFeature: 'off' | 'pending-reboot' | 'on';
  readonly services = new Map<string, SimService>();
  readonly firewallRules = new Set<string>();
  /** Adapter name before the vSwitch; after Calico starts it is `vEthernet (<name>)`. */
  readonly baseAdapter: string;
  vSwitch = false;
  /** The Kubernetes version of c:\k\kubelet.exe (from -KubeVersion), and Calico's. */
  kubeVersion: string | undefined;
  calicoVersion: string | undefined;
  /** What the Node object reports once kubelet runs (`v1.27.5`). */
  kubeletVersion: string | undefined;
  faults: SimWindowsFaults = {};
  /** Reboots done (tests). */
  reboots = 0;

  constructor(
    readonly fs: WindowsFs,
    now: number,
    options: SimWindowsOptions = {},
  ) {
    this.ubr = options.ubr ?? 587;
    this.lastBoot = now - 3 * 86_400_000;
    this.containersFeature = options.rebootOnContainerd === false ? 'on' : 'off';
    this.baseAdapter = options.adapter ?? 'Ethernet';
  }

  get adapterName(): string {
    return this.vSwitch ? `vEthernet (${this.baseAdapter})` : this.baseAdapter;
  }

  running(name: string): boolean {
    return this.services.get(name)?.status === 'Running';
  }

  /** After a reboot: services set to start automatically run again (all of ours are). */
  booted(now: number): void {
    this.lastBoot = now;
    this.reboots++;
    if (this.containersFeature === 'pending-reboot') this.containersFeature = 'on';
  }
}
