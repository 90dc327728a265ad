/**
 * The Calico manifests of many nodes, each distinct file read once. Every node hashes its three
 * manifests in one command (`sha256sum`), then each distinct content is read from one node that
 * has it and checked against its digest: nodes on one revision ship the same calico.yaml and
 * usually deploy the same cni.yaml, some 300 kB each, so a 20-node report reads two or three
 * files instead of sixty. A node that cannot hash them, whose shared read failed, or whose
 * content did not match its digest when read (it changed meanwhile) is read in full on its own,
 * as `calicoFiles` does: its answer, or its error, is its own.
 */
import type { RunContext } from '../engine/context.ts';
import { CALICO_MANIFESTS, type NodeCalicoFiles } from '../microk8s/addons.ts';
import { NO_MANAGE_CALICO } from '../microk8s/calico-manifest.ts';
import { sha256 } from '../util/sha256.ts';

type Manifest = NonNullable<NodeCalicoFiles['bundled']>;

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
  const readOnce = (node: string, file: (typeof CALICO_MANIFESTS)[number], digest: string): Promise<Manifest | undefined> => {
    const key = `${file.kind}\u0000${digest}`;
    let read = shared.get(key);
    if (!read) {
      read = reads
        .node(node)
        .addons.manifest(file.path, file.what)
        .then((m) => (m && sha256(m.text) === digest ? m : undefined), () => undefined);
      shared.set(key, read);
    }
    return read;
  };

  const own = async (node: string): Promise<NodeCalicoFiles | Error> => {
    try {
      return await reads.node(node).addons.calicoFiles();
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };
  const results = await Promise.all(
    hashed.map(async ({ node, digests, noManage }): Promise<NodeCalicoFiles | Error> => {
      if (!digests || noManage === undefined) return own(node);
      const files: NodeCalicoFiles = { bundled: undefined, deployed: undefined, backup: undefined, noManage };
      // The node's manifests read side by side (one round trip, not one per file).
      const read = await Promise.all(
        CALICO_MANIFESTS.map(async (file) => {
          const digest = digests[file.kind];
          if (digest === undefined) return { file, m: undefined, missing: false }; // not on this node
          const m = await readOnce(node, file, digest);
          return { file, m, missing: m === undefined };
        }),
      );
      if (read.some((r) => r.missing)) return own(node);
      for (const { file, m } of read) if (m) files[file.kind] = m;
      return files;
    }),
  );
  return new Map(nodes.map((n, i) => [n, results[i] as NodeCalicoFiles | Error]));
}
