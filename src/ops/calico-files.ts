/**
 * The Calico manifests of many nodes, each distinct file read once. Every node hashes its three
 * manifests in one command (`sha256sum`), then each distinct content is read from one node that
 * has it and checked against its digest: nodes on one revision ship the same calico.yaml and
 * usually deploy the same cni.yaml, some 300 kB each, so a 20-node report reads two or three
 * files instead of sixty. A node that cannot hash them, whose shared read failed, or whose
 * content did not match its digest when read (it changed meanwhile) is read in full on its own,
 * as `calicoFiles` does: its answer, or its error, is its own.
 */
import { createHash } from 'node:crypto';
import type { RunContext } from '../engine/context.ts';
import type { CalicoDigests, NodeCalicoFiles } from '../microk8s/addons.ts';
import { BUNDLED_CALICO, CNI_AUTO_BACKUP, DEPLOYED_CNI, NO_MANAGE_CALICO } from '../microk8s/calico-manifest.ts';

type Manifest = NonNullable<NodeCalicoFiles['bundled']>;
type Kind = keyof CalicoDigests;

const FILES: ReadonlyArray<{ kind: Kind; path: string; what: string }> = [
  { kind: 'bundled', path: BUNDLED_CALICO, what: 'the bundled calico.yaml' },
  { kind: 'deployed', path: DEPLOYED_CNI, what: 'cni.yaml' },
  { kind: 'backup', path: CNI_AUTO_BACKUP, what: 'cni.yaml.backup' },
];

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Each node's Calico files, or the error reading them gave (in the order of `nodes`). */
export async function readCalicoFiles(reads: Pick<RunContext, 'node'>, nodes: readonly string[]): Promise<Map<string, NodeCalicoFiles | Error>> {
  const hashed = await Promise.all(
    nodes.map(async (node) => {
      const addons = reads.node(node).addons;
      const [digests, noManage] = await Promise.allSettled([addons.calicoDigests(), addons.exists(NO_MANAGE_CALICO)]);
      return { node, digests: digests.status === 'fulfilled' ? digests.value : undefined, noManage: noManage.status === 'fulfilled' ? noManage.value : undefined };
    }),
  );

  // One read per distinct content, from the first node that has it; undefined: use the node's own read.
  const shared = new Map<string, Promise<Manifest | undefined>>();
  const readOnce = (node: string, file: (typeof FILES)[number], digest: string): Promise<Manifest | undefined> => {
    const key = `${file.kind}\u0000${digest}`;
    let read = shared.get(key);
    if (!read) {
      read = reads
        .node(node)
        .addons.manifest(file.path, `${file.what} on ${node}`)
        .then((m) => (m && sha256(m.text) === digest ? m : undefined), () => undefined);
      shared.set(key, read);
    }
    return read;
  };

  const out = new Map<string, NodeCalicoFiles | Error>();
  await Promise.all(
    hashed.map(async ({ node, digests, noManage }) => {
      const own = async () => {
        try {
          out.set(node, await reads.node(node).addons.calicoFiles());
        } catch (err) {
          out.set(node, err instanceof Error ? err : new Error(String(err)));
        }
      };
      if (!digests || noManage === undefined) return own();
      const files: Partial<Record<Kind, Manifest | undefined>> = {};
      for (const file of FILES) {
        const digest = digests[file.kind];
        if (digest === undefined) {
          files[file.kind] = undefined;
          continue;
        }
        const m = await readOnce(node, file, digest);
        if (!m) return own();
        files[file.kind] = m;
      }
      out.set(node, { bundled: files.bundled, deployed: files.deployed, backup: files.backup, noManage });
      return undefined;
    }),
  );
  return new Map(nodes.map((n) => [n, out.get(n) ?? new Error(`no Calico files read on ${n}`)]));
}
