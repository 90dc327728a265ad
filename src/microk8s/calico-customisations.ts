/**
 * What a cluster changed in its deployed Calico manifest, against the one MicroK8s ships — the
 * "customisations" the seed says to patch into the new manifest before applying it — and the
 * diff a person approves.
 *
 * Compared: the calico-node container's env (pod CIDR, IP autodetection, MTU and backend values,
 * and any other variable) and `calico-config`'s `calico_backend` and `veth_mtu`. Not compared:
 * images (the upgrade changes them), `cni_network_config` and the CRDs/RBAC (they change between
 * Calico releases). A change that cannot be carried into the new manifest by setting a literal
 * value is named and stops `upgrade-cni`.
 */
import { imageTag, type CalicoEnvVar, type CalicoManifest, type ManifestEdit } from './calico-manifest.ts';

export type CustomisationKind = 'pod CIDR' | 'IP autodetection' | 'MTU' | 'backend' | 'env';

export interface Customisation {
  kind: CustomisationKind;
  /** `CALICO_IPV4POOL_CIDR`, or `calico-config veth_mtu`. */
  key: string;
  deployed: string;
  /** The bundled manifest's value; undefined when it has no such entry. */
  bundled?: string;
  /** How it goes into the new manifest; undefined: it cannot (see `problem`). */
  edit?: ManifestEdit;
  problem?: string;
}

const CONFIG_KEYS = ['calico_backend', 'veth_mtu'] as const;

/**
 * Values MicroK8s itself shipped in older manifests that newer ones dropped or changed: not the
 * cluster's customisations (1.22–1.24 set FELIX_LOGSEVERITYSCREEN=error; ≤1.23 veth_mtu 1440).
 */
const STOCK_ENV_DROPPED: Readonly<Record<string, string>> = { FELIX_LOGSEVERITYSCREEN: 'error' };
const STOCK_CONFIG: Readonly<Record<string, readonly string[]>> = { veth_mtu: ['1440', '0'] };

function kindOf(name: string): CustomisationKind {
  if (name === 'CALICO_IPV4POOL_CIDR' || name === 'CALICO_IPV6POOL_CIDR') return 'pod CIDR';
  if (name.endsWith('AUTODETECTION_METHOD')) return 'IP autodetection';
  if (name.endsWith('MTU') || name === 'veth_mtu') return 'MTU';
  if (name === 'calico_backend' || name === 'CALICO_NETWORKING_BACKEND' || name.startsWith('CALICO_IPV4POOL_VXLAN') || name.startsWith('CALICO_IPV4POOL_IPIP') || name === 'CALICO_IPV6POOL_VXLAN') {
    return 'backend';
  }
  return 'env';
}

function shown(v: CalicoEnvVar | undefined): string {
  if (!v) return 'absent';
  return v.from !== undefined ? `from ${v.from}` : (v.value ?? '');
}

/** The deployed manifest's customisations against the bundled one, in manifest order. */
export function customisations(deployed: CalicoManifest, bundled: CalicoManifest): Customisation[] {
  const out: Customisation[] = [];
  const bundledEnv = new Map(bundled.env.map((v) => [v.name, v]));
  for (const d of deployed.env) {
    const b = bundledEnv.get(d.name);
    const kind = kindOf(d.name);
    if (d.from === undefined) {
      const value = d.value ?? '';
      if (b && b.from === undefined) {
        if (b.value !== value) out.push({ kind, key: d.name, deployed: value, bundled: b.value ?? '', edit: { target: 'env', key: d.name, value } });
      } else if (b) {
        out.push({ kind, key: d.name, deployed: value, bundled: shown(b), problem: `the new manifest takes ${d.name} ${shown(b)}; the deployed one sets it to "${value}"` });
      } else if (STOCK_ENV_DROPPED[d.name] !== value) {
        out.push({ kind, key: d.name, deployed: value, edit: { target: 'env', key: d.name, value } });
      }
    } else if (!b || b.from !== d.from) {
      out.push({ kind, key: d.name, deployed: shown(d), bundled: shown(b), problem: `${d.name} is taken ${shown(d)} in the deployed manifest and ${b ? shown(b) : 'absent'} in the new one` });
    }
  }
  for (const key of CONFIG_KEYS) {
    const d = deployed.config[key];
    const b = bundled.config[key];
    if (d === undefined || d === b) continue;
    if ((STOCK_CONFIG[key] ?? []).includes(d) && b !== undefined && (STOCK_CONFIG[key] ?? []).includes(b)) continue;
    const c: Customisation = { kind: kindOf(key), key: `calico-config ${key}`, deployed: d };
    if (b === undefined) c.problem = `the new manifest's calico-config has no ${key}`;
    else {
      c.bundled = b;
      c.edit = { target: 'config', key, value: d };
    }
    out.push(c);
  }
  return out;
}

/** `pod CIDR CALICO_IPV4POOL_CIDR=10.100.0.0/16 (shipped: 10.1.0.0/16)` */
export function describeCustomisation(c: Customisation): string {
  const shipped = c.bundled === undefined ? 'not in the shipped manifest' : `shipped: ${c.bundled}`;
  const name = c.kind === 'env' ? c.key : `${c.kind} ${c.key}`;
  return `${name}=${c.deployed} (${shipped})`;
}

/** A customisation the deployed manifest had and `now` lost (a refresh that replaced cni.yaml). */
export interface LostCustomisation {
  key: string;
  kind: CustomisationKind;
  before: string;
  now: string;
}

/** What `before` (e.g. cni.yaml.backup) set that `now` (cni.yaml) no longer does. */
export function lostCustomisations(before: CalicoManifest, now: CalicoManifest): LostCustomisation[] {
  // The customisations of `before` against the manifest that replaced it, that `now` does not keep.
  return customisations(before, now).map((c) => ({ key: c.key, kind: c.kind, before: c.deployed, now: c.bundled ?? 'absent' }));
}

function envLine(v: CalicoEnvVar): string {
  return `env ${v.name}=${v.from !== undefined ? `<from ${v.from}>` : (v.value ?? '')}`;
}

/** Lines of `text` that the other text does not have (counted with multiplicity): a size for the diff. */
function changedLines(a: string, b: string): number {
  const counts = new Map<string, number>();
  for (const line of a.split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
  let changed = 0;
  for (const line of b.split('\n')) {
    const n = counts.get(line) ?? 0;
    if (n > 0) counts.set(line, n - 1);
    else changed++;
  }
  return changed;
}

/**
 * The diff a person approves: images, the calico-node env and calico-config, `-` deployed / `+`
 * new, a customisation carried over shown as kept; plus how many other lines differ.
 */
export function manifestDiff(deployed: CalicoManifest, next: CalicoManifest, texts: { deployed: string; next: string }, kept: readonly Customisation[] = []): string[] {
  const lines: string[] = [];
  const oldImages = new Map(deployed.images.map((i) => [i.where, i.image]));
  const newImages = new Map(next.images.map((i) => [i.where, i.image]));
  for (const [where, image] of oldImages) {
    const now = newImages.get(where);
    if (now === image) continue;
    lines.push(`- ${where}: ${image}`);
    if (now !== undefined) lines.push(`+ ${where}: ${now}`);
  }
  for (const [where, image] of newImages) if (!oldImages.has(where)) lines.push(`+ ${where}: ${image}`);
  const newEnv = new Map(next.env.map((v) => [v.name, v]));
  const oldEnv = new Map(deployed.env.map((v) => [v.name, v]));
  const keptKeys = new Set(kept.map((c) => c.key));
  for (const v of deployed.env) {
    const n = newEnv.get(v.name);
    if (n && envLine(n) === envLine(v)) {
      if (keptKeys.has(v.name)) lines.push(`  ${envLine(v)}   (kept)`);
      continue;
    }
    lines.push(`- ${envLine(v)}`);
    if (n) lines.push(`+ ${envLine(n)}`);
  }
  for (const v of next.env) if (!oldEnv.has(v.name)) lines.push(`+ ${envLine(v)}`);
  for (const key of CONFIG_KEYS) {
    const a = deployed.config[key];
    const b = next.config[key];
    if (a === b) {
      if (keptKeys.has(`calico-config ${key}`)) lines.push(`  calico-config ${key}=${a ?? ''}   (kept)`);
      continue;
    }
    if (a !== undefined) lines.push(`- calico-config ${key}=${a}`);
    if (b !== undefined) lines.push(`+ calico-config ${key}=${b}`);
  }
  const other = changedLines(texts.deployed, texts.next);
  lines.push(`(${other} line(s) of the ${imageTag(next.image)} manifest differ from the deployed one in all: the above, and CRDs/RBAC/comments of the new Calico release)`);
  return lines;
}
