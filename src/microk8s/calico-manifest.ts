/**
 * The Calico manifest MicroK8s ships and deploys (reference §C4), read as multi-document YAML —
 * the way MicroK8s itself does (`scripts/calico/upgrade.py`: the `calico-node` container of the
 * `calico-node` DaemonSet). A plain grep is wrong: since 1.25 a commented-out `mount-bpffs` init
 * container names the node image first, and `calico/cni` images come before it.
 *
 * Files on a node:
 *   bundled  $SNAP/upgrade-scripts/000-switch-to-calico/resources/calico.yaml  (per revision)
 *   deployed $SNAP_DATA/args/cni-network/cni.yaml                               (what was applied)
 *   cni.yaml.backup                    the copy MicroK8s keeps when a refresh replaced cni.yaml
 *   var/lock/no-manage-calico          present: MicroK8s never upgrades Calico on a refresh
 */
import { isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import { OutputParseError } from './errors.ts';

export const BUNDLED_CALICO = '/snap/microk8s/current/upgrade-scripts/000-switch-to-calico/resources/calico.yaml';
export const DEPLOYED_CNI = '/var/snap/microk8s/current/args/cni-network/cni.yaml';
/** Written by MicroK8s's own Calico upgrade on a refresh (`backup_old_cni`). */
export const CNI_AUTO_BACKUP = '/var/snap/microk8s/current/args/cni-network/cni.yaml.backup';
export const NO_MANAGE_CALICO = '/var/snap/microk8s/current/var/lock/no-manage-calico';

/** Bigger than any real manifest (1.33's is 325 kB); refuse anything larger before parsing. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface CalicoEnvVar {
  name: string;
  /** A literal value. */
  value?: string;
  /** Where a `valueFrom` takes it from, in words (`calico-config/veth_mtu`, `field spec.nodeName`). */
  from?: string;
}

export interface CalicoManifest {
  /** The calico-node container's image, e.g. `docker.io/calico/node:v3.25.0`. */
  image: string;
  /** Its tag, e.g. `v3.25.0`. */
  version: string;
  /** The calico-node container's env, in order. */
  env: CalicoEnvVar[];
  /** The `calico-config` ConfigMap's string data (calico_backend, veth_mtu, …). */
  config: Record<string, string>;
  /** Every container image of the manifest, by `<Kind>/<name> <container>`, in order. */
  images: Array<{ where: string; image: string }>;
}

interface Located {
  docs: Document.Parsed[];
  container: YAMLMap;
  envSeq: YAMLSeq | undefined;
  configData: YAMLMap | undefined;
  /** Where the documents holding `container` and `configData` start in the text (node ranges are relative to them). */
  containerBase: number;
  configBase: number;
}

/**
 * The manifest's documents that can matter here (they name an image or calico-config), each with
 * its offset. A line that is exactly `---` (or `--- …`) at column 0 always starts a document in
 * YAML, even after a block scalar, so splitting there is exact; the CRDs (most of the 300 kB) are
 * then never parsed.
 */
function relevantChunks(text: string): Array<{ at: number; text: string }> {
  const starts = [0];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\n', i);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(i, end);
    if (i > 0 && (line === '---' || line === '---\r' || line.startsWith('--- '))) starts.push(i);
    i = end + 1;
  }
  const chunks: Array<{ at: number; text: string }> = [];
  for (const [k, at] of starts.entries()) {
    const chunk = text.slice(at, starts[k + 1] ?? text.length);
    if (chunk.includes('image:') || chunk.includes('calico-config')) chunks.push({ at, text: chunk });
  }
  return chunks;
}

function get(node: unknown, key: string): unknown {
  return isMap(node) ? node.get(key, true) : undefined;
}

function str(node: unknown): string | undefined {
  if (isScalar(node)) {
    const v: unknown = node.value;
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : undefined;
  }
  return undefined;
}

function items(node: unknown): unknown[] {
  return isSeq(node) ? node.items : [];
}

/** The image tag MicroK8s reads (`image.split(":")[-1]`), ignoring a registry port. */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : 'latest';
}

function locate(text: string, what: string): Located {
  if (text.length > MAX_MANIFEST_BYTES) throw new OutputParseError(what, `a manifest under ${MAX_MANIFEST_BYTES} bytes`, `${text.length} bytes`);
  const docs: Document.Parsed[] = [];
  let container: YAMLMap | undefined;
  let configData: YAMLMap | undefined;
  let containerBase = 0;
  let configBase = 0;
  for (const chunk of relevantChunks(text)) {
    const parsed = parseAllDocuments(chunk.text, { uniqueKeys: false });
    if (!Array.isArray(parsed)) continue;
    const broken = parsed.find((d) => d.errors.length > 0);
    if (broken) throw new OutputParseError(what, 'valid YAML', broken.errors[0]?.message.split('\n')[0] ?? 'a YAML error');
    for (const doc of parsed) {
      docs.push(doc);
      const root = doc.contents;
      const kind = str(get(root, 'kind'));
      const name = str(get(get(root, 'metadata'), 'name'));
      if (kind === 'ConfigMap' && name === 'calico-config') {
        const data = get(root, 'data');
        if (isMap(data)) {
          configData = data;
          configBase = chunk.at;
        }
      }
      if (kind === 'DaemonSet' && name === 'calico-node' && !container) {
        const c = items(get(get(get(get(root, 'spec'), 'template'), 'spec'), 'containers')).find((x) => str(get(x, 'name')) === 'calico-node');
        if (isMap(c)) {
          container = c;
          containerBase = chunk.at;
        }
      }
    }
  }
  if (!container) throw OutputParseError.of(what, 'a Calico manifest (DaemonSet calico-node with a calico-node container)', text);
  const env = get(container, 'env');
  return { docs, container, envSeq: isSeq(env) ? env : undefined, configData, containerBase, configBase };
}

function describeFrom(node: unknown): string {
  const cm = get(node, 'configMapKeyRef');
  if (cm) return `${str(get(cm, 'name')) ?? '?'}/${str(get(cm, 'key')) ?? '?'}`;
  const field = get(node, 'fieldRef');
  if (field) return `field ${str(get(field, 'fieldPath')) ?? '?'}`;
  return 'valueFrom';
}

function envOf(seq: YAMLSeq | undefined): CalicoEnvVar[] {
  return items(seq).flatMap((item): CalicoEnvVar[] => {
    const name = str(get(item, 'name'));
    if (name === undefined) return [];
    const from = get(item, 'valueFrom');
    if (from !== undefined) return [{ name, from: describeFrom(from) }];
    return [{ name, value: str(get(item, 'value')) ?? '' }];
  });
}

function imagesOf(docs: Document.Parsed[]): CalicoManifest['images'] {
  const out: CalicoManifest['images'] = [];
  for (const doc of docs) {
    const root = doc.contents;
    const kind = str(get(root, 'kind'));
    const name = str(get(get(root, 'metadata'), 'name'));
    const pod = get(get(get(root, 'spec'), 'template'), 'spec');
    for (const list of ['initContainers', 'containers']) {
      for (const c of items(get(pod, list))) {
        const image = str(get(c, 'image'));
        if (image) out.push({ where: `${kind ?? '?'}/${name ?? '?'} ${str(get(c, 'name')) ?? '?'}`, image });
      }
    }
  }
  return out;
}

/** The last few manifests read: every node of a revision ships the same one. Callers never mutate the result. */
const recent = new Map<string, CalicoManifest>();
const RECENT_MAX = 4;

/** Reads a Calico manifest; `what` names it in errors (`cni.yaml on k8s-1`). */
export function parseCalicoManifest(text: string, what = 'the Calico manifest'): CalicoManifest {
  const known = recent.get(text);
  if (known) return known;
  const manifest = readManifest(text, what);
  recent.set(text, manifest);
  if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value ?? '');
  return manifest;
}

function readManifest(text: string, what: string): CalicoManifest {
  const { docs, container, envSeq, configData } = locate(text, what);
  const image = str(get(container, 'image'));
  if (!image) throw OutputParseError.of(what, 'an image on the calico-node container', text);
  const config: Record<string, string> = {};
  if (configData) {
    for (const pair of configData.items) {
      const k = str(pair.key);
      const v = str(pair.value);
      if (k !== undefined && v !== undefined) config[k] = v;
    }
  }
  return { image, version: imageTag(image), env: envOf(envSeq), config, images: imagesOf(docs) };
}

/** `v3.25.0` → [3, 25, 0]; undefined when it is not a release tag. */
function versionParts(tag: string): number[] | undefined {
  // the whole tag: it also reaches approvals and thread messages
  const m = /^v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(?:[-+][A-Za-z0-9.]{1,40})?$/.exec(tag);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** Negative when a is older than b; undefined when either is not a release tag. */
export function compareCalicoVersions(a: string, b: string): number | undefined {
  const pa = versionParts(a);
  const pb = versionParts(b);
  if (!pa || !pb) return undefined;
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

// ---------------------------------------------------------------- rewriting the bundled manifest

/** One change to make in a manifest's text: a value of the calico-node env, or of calico-config. */
export type ManifestEdit = {
  target: 'env' | 'config';
  key: string;
  value: string;
};

interface TextEdit {
  at: number;
  end: number;
  text: string;
}

function scalarRange(node: unknown): [number, number] | undefined {
  if (!isScalar(node)) return undefined;
  const r = (node as Node).range;
  return r ? [r[0], r[1]] : undefined;
}

/**
 * The bundled manifest's text with `edits` made in place — every other byte (comments, the
 * commented-out blocks, key order) stays as MicroK8s ships it. Values are written as YAML
 * double-quoted strings; a new env entry is added at the top of the list.
 */
export function applyManifestEdits(text: string, edits: readonly ManifestEdit[]): string {
  const { container, envSeq, configData, containerBase, configBase } = locate(text, 'the bundled Calico manifest');
  const out: TextEdit[] = [];
  const added: ManifestEdit[] = [];
  for (const e of edits) {
    const quoted = JSON.stringify(e.value);
    if (e.target === 'config') {
      const range = scalarRange(configData?.get(e.key, true));
      if (!range) throw new Error(`the bundled manifest's calico-config has no ${e.key}`);
      out.push({ at: configBase + range[0], end: configBase + range[1], text: quoted });
      continue;
    }
    const item = items(envSeq).find((x) => str(get(x, 'name')) === e.key);
    if (!item) {
      added.push(e);
      continue;
    }
    const range = scalarRange(get(item, 'value'));
    if (!range) throw new Error(`the bundled manifest's ${e.key} is not a literal value`);
    out.push({ at: containerBase + range[0], end: containerBase + range[1], text: quoted });
  }
  if (added.length > 0) {
    // New entries go first in the list, indented like its first entry (a position that is
    // always a line start, whatever the last entry's shape).
    const first = (items(envSeq)[0] as Node | undefined)?.range;
    if (!first) throw new Error(`the bundled manifest's calico-node container has no env list (${str(get(container, 'name')) ?? ''})`);
    const itemAt = containerBase + first[0];
    const lineStart = text.lastIndexOf('\n', itemAt) + 1;
    const prefix = text.slice(lineStart, itemAt);
    const dash = prefix.indexOf('-');
    if (dash < 0 || prefix.slice(0, dash).trim() !== '') throw new Error('the bundled manifest\'s env list is not a block list');
    const dashIndent = ' '.repeat(dash);
    const keyIndent = ' '.repeat(prefix.length);
    const block = added.map((e) => `${dashIndent}- name: ${e.key}\n${keyIndent}value: ${JSON.stringify(e.value)}\n`).join('');
    out.push({ at: lineStart, end: lineStart, text: block });
  }
  let result = text;
  for (const e of out.toSorted((a, b) => b.at - a.at)) result = result.slice(0, e.at) + e.text + result.slice(e.end);
  // Read it back: every edit must be there, and it must still be a Calico manifest.
  const check = parseCalicoManifest(result, 'the new Calico manifest');
  for (const e of edits) {
    const now = e.target === 'config' ? check.config[e.key] : check.env.find((v) => v.name === e.key)?.value;
    if (now !== e.value) throw new Error(`the new manifest does not hold ${e.key}=${e.value} after editing (got ${now ?? 'nothing'})`);
  }
  return result;
}
