/**
 * The simulated Snap Store: which MicroK8s revision each channel serves.
 * Tests read this to know what a refresh will install.
 */

export interface ChannelRelease {
  /** Snap version, as `snap list` prints it, e.g. `v1.22.3`. */
  version: string;
  /** Snap revision. */
  revision: number;
  /** `status.nodeInfo.kubeletVersion` once a node runs this revision. */
  kubeletVersion: string;
  /** Release date shown by `snap info`. */
  released: string;
  /** Download size shown by `snap info`, in MB. */
  sizeMb: number;
}

export const DEFAULT_CHANNEL = '1.22/stable';

/** Channels the simulated store serves for `microk8s` (amd64). Keys are full `track/risk` names. */
export const CHANNELS: Readonly<Record<string, ChannelRelease>> = {
  '1.20/stable': { version: 'v1.20.13', revision: 2695, kubeletVersion: 'v1.20.13-35+d877e7a8ac536e', released: '2021-12-02', sizeMb: 190 },
  '1.21/stable': { version: 'v1.21.7', revision: 2694, kubeletVersion: 'v1.21.7-3+7700880a5c71e2', released: '2021-12-02', sizeMb: 191 },
  '1.22/stable': { version: 'v1.22.3', revision: 2551, kubeletVersion: 'v1.22.3-3+9ec7c40ec93c73', released: '2021-11-05', sizeMb: 173 },
  '1.22/candidate': { version: 'v1.22.4', revision: 2688, kubeletVersion: 'v1.22.4-3+adc4115d990346', released: '2021-11-30', sizeMb: 173 },
  '1.23/candidate': { version: 'v1.23.0-rc.0', revision: 2644, kubeletVersion: 'v1.23.0-rc.0.2+f4d3c97c512f07', released: '2021-11-17', sizeMb: 176 },
  '1.23/stable': { version: 'v1.23.3', revision: 2948, kubeletVersion: 'v1.23.3-2+d441060727c463', released: '2022-02-10', sizeMb: 177 },
  '1.24/stable': { version: 'v1.24.0', revision: 3272, kubeletVersion: 'v1.24.0-2+59bbb3530b6769', released: '2022-05-13', sizeMb: 168 },
  '1.25/stable': { version: 'v1.25.2', revision: 4055, kubeletVersion: 'v1.25.2', released: '2022-10-04', sizeMb: 166 },
  '1.26/stable': { version: 'v1.26.1', revision: 4595, kubeletVersion: 'v1.26.1', released: '2023-02-06', sizeMb: 176 },
  '1.27/stable': { version: 'v1.27.5', revision: 5891, kubeletVersion: 'v1.27.5', released: '2023-09-08', sizeMb: 183 },
  '1.28/stable': { version: 'v1.28.3', revision: 6089, kubeletVersion: 'v1.28.3', released: '2023-10-24', sizeMb: 185 },
  'latest/stable': { version: 'v1.28.3', revision: 6089, kubeletVersion: 'v1.28.3', released: '2023-10-24', sizeMb: 185 },
};

export const RISKS = ['stable', 'candidate', 'beta', 'edge'] as const;

export function isRisk(s: string): boolean {
  return RISKS.some((r) => r === s);
}

/** Tracks in the order `snap info` lists them (latest first, then newest track first). */
export function tracks(): string[] {
  const seen = new Set<string>();
  for (const name of Object.keys(CHANNELS)) seen.add(name.split('/')[0] ?? name);
  const rest = [...seen].filter((t) => t !== 'latest').toSorted((a, b) => compareTracks(b, a));
  return seen.has('latest') ? ['latest', ...rest] : rest;
}

function compareTracks(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface ParsedChannel {
  track: string;
  risk: string;
  branch?: string;
}

/**
 * snapd's channel parsing (`snap/channel`): `risk`, `track`, `track/risk`, `risk/branch`,
 * `track/risk/branch`. Returns snapd's error text for a malformed name.
 */
export function parseChannel(s: string): ParsedChannel | { error: string } {
  if (s === '') return { error: 'channel name cannot be empty' };
  const p = s.split('/');
  let track: string | undefined;
  let risk: string | undefined;
  let branch: string | undefined;
  if (p.length > 3) return { error: `channel name has too many components: ${s}` };
  if (p.length === 3) [track, risk, branch] = p;
  else if (p.length === 2) {
    if (isRisk(p[0] ?? '')) [risk, branch] = p;
    else [track, risk] = p;
  } else if (isRisk(p[0] ?? '')) risk = p[0];
  else track = p[0];
  if (risk !== undefined && !isRisk(risk)) return { error: `invalid risk in channel name: ${s}` };
  if (track !== undefined && track === '') return { error: `invalid track in channel name: ${s}` };
  if (branch !== undefined && branch === '') return { error: `invalid branch in channel name: ${s}` };
  const out: ParsedChannel = { track: track ?? 'latest', risk: risk ?? 'stable' };
  if (branch !== undefined) out.branch = branch;
  return out;
}

/** `track/risk[/branch]` with the default track spelled out, as `snap list` shows it. */
export function fullChannel(c: ParsedChannel): string {
  return c.branch ? `${c.track}/${c.risk}/${c.branch}` : `${c.track}/${c.risk}`;
}

/** snapd's `Channel.Name`: the short form, `stable` for latest/stable, `1.23/stable` otherwise. */
export function channelDisplayName(full: string): string {
  const c = parseChannel(full);
  if ('error' in c) return full;
  const head = c.track === 'latest' ? c.risk : `${c.track}/${c.risk}`;
  return c.branch ? `${head}/${c.branch}` : head;
}

/** The release a channel serves; a closed risk falls through to the next more stable one, like the store. */
export function resolveChannel(full: string): { release: ChannelRelease; servedFrom: string } | undefined {
  const c = parseChannel(full);
  if ('error' in c || c.branch) return undefined;
  const idx = RISKS.findIndex((r) => r === c.risk);
  for (let i = idx; i >= 0; i--) {
    const name = `${c.track}/${RISKS[i]}`;
    const release = CHANNELS[name];
    if (release) return { release, servedFrom: name };
  }
  return undefined;
}

/** Kubernetes minor of a snap version, e.g. `v1.23.0-rc.0` → 23. */
export function minorOf(version: string): number {
  const m = /^v?1\.(\d+)/.exec(version);
  return m ? Number(m[1]) : 0;
}
