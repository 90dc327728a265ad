/**
 * upgrade-cni's plan and manifest (src/ops/upgrade-cni.ts) on a 1.26 cluster with a custom pod
 * CIDR whose nodes are refreshed to 1.27: the refusals (revisions that differ, a NotReady node,
 * customisations that differ, no calico-node, nothing newer), the plan that carries the CIDR
 * over (read-only), the manifest rebuilt against the approved sha256, the backup record.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckFailedError } from '../../src/errors/user-facing.ts';
import { DEPLOYED_CNI } from '../../src/microk8s/calico-manifest.ts';
import { buildCniPlan, cniPlanSteps, diffBlock, loadCniBackup, rebuildManifest, saveCniBackup, sha256, type CniPlan } from '../../src/ops/upgrade-cni.ts';
import { simCalico } from '../../src/sim/calico.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const NODES = ['k8s-1', 'k8s-2', 'k8s-3'];
const CIDR = '10.100.0.0/16';

describe('upgrade-cni plan', () => {
  const rig = useOpsRig({ nodes: NODES.map((name) => ({ name, channel: '1.26/stable' })), policy: { readyTimeout: '5s' } });
  const calico = () => simCalico(rig.sim.state);
  const writes = () => rig.commands().filter((c) => /^(cp |mv |sftp put|microk8s kubectl apply)/.test(c));
  /** Replaces `node`'s deployed cni.yaml (its current revision) with `edit` of it. */
  function editCni(node: string, edit: (t: string) => string): () => void {
    const n = rig.sim.state.node(node);
    const path = `/var/snap/microk8s/${n.revision}/args/cni-network/cni.yaml`;
    const before = n.fs.files.get(path)!;
    n.fs.files.set(path, { ...before, data: Buffer.from(edit(before.data.toString('utf8'))) });
    return () => n.fs.files.set(path, before);
  }

  /** Refreshes the nodes to 1.27 (it ships Calico v3.25.0), each Ready again before the next. */
  const refresh = (nodes: string[]) =>
    rig.run(async (run) => {
      for (const n of nodes) {
        await run.node(n).refresh('1.27/stable');
        await run.node(n === 'k8s-1' ? 'k8s-2' : 'k8s-1').waitNodeReady(n, 20);
      }
    });

  beforeAll(async () => {
    calico().customise((t) => t.replace('value: "10.1.0.0/16"', `value: "${CIDR}"`));
    await refresh(['k8s-1', 'k8s-2']); // k8s-3 is still on 1.26
  });

  it('refuses while the nodes\' revisions ship different Calico versions, reading only', async () => {
    const { plan, text } = await rig.run((run) => buildCniPlan(run));
    expect(text).toBeUndefined();
    expect(plan.refusal).toBe("The nodes' revisions ship different Calico versions (k8s-1 v3.25.0, k8s-2 v3.25.0, k8s-3 v3.23.5): finish upgrading MicroK8s on every node first.");
    expect(plan).toMatchObject({ controller: 'k8s-1', running: 'v3.23.5', runningImage: 'docker.io/calico/node:v3.23.5' });
    expect(writes()).toEqual([]);
  });

  it('plans the bundled v3.25.0 manifest with the custom pod CIDR carried over, and changes nothing', async () => {
    await refresh(['k8s-3']);
    const { plan, text } = await rig.run((run) => buildCniPlan(run));
    expect(plan.refusal).toBeUndefined();
    expect(plan).toMatchObject({ controller: 'k8s-1', running: 'v3.23.5', from: 'v3.23.5', to: 'v3.25.0', newImage: 'docker.io/calico/node:v3.25.0' });
    expect(plan.nodes.map((n) => n.node)).toEqual(NODES);
    for (const n of plan.nodes) expect(n.deployedSha).toBe(sha256(calico().cniYaml(n.node)!));
    expect(plan.kept).toEqual([`pod CIDR CALICO_IPV4POOL_CIDR=${CIDR} (shipped: 10.1.0.0/16)`]);
    expect(text).toContain('image: docker.io/calico/node:v3.25.0');
    expect(text).toContain(`"${CIDR}"`);
    expect(plan.newSha).toBe(sha256(text!));
    expect(plan.diff).toContain('- DaemonSet/calico-node calico-node: docker.io/calico/node:v3.23.5');
    expect(plan.diff).toContain('+ DaemonSet/calico-node calico-node: docker.io/calico/node:v3.25.0');
    expect(writes()).toEqual([]);
    expect(rig.commands('k8s-1')).toContain('microk8s kubectl get ds calico-node -n kube-system -o json');
    expect(calico().image()).toBe('docker.io/calico/node:v3.23.5');
  });

  it('refuses while a node is NotReady, or its cni.yaml has other customisations than the controller\'s', async () => {
    rig.sim.state.node('k8s-3').ready = false;
    try {
      const { plan } = await rig.run((run) => buildCniPlan(run));
      expect(plan.refusal).toBe('k8s-3 is NotReady: the calico-node rollout would stall there. Bring it back first.');
    } finally {
      rig.sim.state.node('k8s-3').ready = true;
    }
    const undo = editCni('k8s-2', (t) => t.replace(`value: "${CIDR}"`, 'value: "10.200.0.0/16"'));
    try {
      const { plan } = await rig.run((run) => buildCniPlan(run));
      expect(plan.refusal).toBe("The deployed cni.yaml of k8s-2 has other customisations than k8s-1's: make them agree first (one manifest is applied to the whole cluster).");
    } finally {
      undo();
    }
  });

  it('refuses a cluster without a calico-node DaemonSet', async () => {
    rig.sim.inject({ node: '*', match: 'get ds calico-node', kind: 'fail', exitCode: 1, stderr: 'Error from server (NotFound): daemonsets.apps "calico-node" not found\n' });
    const { plan } = await rig.run((run) => buildCniPlan(run));
    expect(plan.refusal).toBe('The cluster has no calico-node DaemonSet in kube-system: it does not run the Calico CNI MicroK8s ships, so there is nothing to upgrade.');
    expect(plan.controller).toBe('k8s-1');
  });

  it('rebuilds the approved manifest on the controller, and refuses one that no longer matches', async () => {
    const { plan, text } = await rig.run((run) => buildCniPlan(run));
    expect(await rig.run((run) => rebuildManifest(run, plan))).toBe(text);
    const tampered: CniPlan = { ...plan, newSha: sha256('something else') };
    const err = await rejectionOf(rig.run((run) => rebuildManifest(run, tampered)), CheckFailedError);
    expect(err.message).toBe(`the manifest built on k8s-1 now differs from the approved one (sha256 ${plan.newSha.slice(0, 12)}, approved ${tampered.newSha.slice(0, 12)})`);
  });

  it('records the backups for --restore per cluster', async () => {
    expect(await rig.run(async (run) => loadCniBackup(run))).toBeUndefined();
    const record = { job: '7', at: 1_700_000_000_000, from: 'v3.23.5', to: 'v3.25.0', backups: { 'k8s-1': `${DEPLOYED_CNI}.mk8s-20260101T000000Z` } };
    await rig.run((run) => saveCniBackup(run, record));
    expect(await rig.run((run) => loadCniBackup(run))).toEqual(record);
  });

  it('says there is nothing to upgrade once the new manifest runs', async () => {
    const { text } = await rig.run((run) => buildCniPlan(run));
    await rig.run(async (run) => {
      for (const n of NODES) await run.node(n).writeFile(DEPLOYED_CNI, text!, run.jobId, true);
      await run.node('k8s-1').addons.apply(DEPLOYED_CNI);
      await run.node('k8s-1').addons.waitCalicoRollout(5);
    });
    expect(calico().image()).toBe('docker.io/calico/node:v3.25.0');
    const { plan } = await rig.run((run) => buildCniPlan(run));
    expect(plan.refusal).toBe('The Calico this MicroK8s revision ships (v3.25.0) is not newer than the running one (v3.25.0): nothing to upgrade.');
  });
});

describe('upgrade-cni prose', () => {
  const plan = (diff: string[]): CniPlan => ({ controller: 'k8s-1', running: 'v1', runningImage: 'x', from: 'v1', to: 'v2', nodes: [], edits: [], kept: [], newSha: '', newImage: '', diff });

  it('shows the diff as a code block, capped, with node text made plain; plans the upgrade and the restore as their steps', () => {
    expect(diffBlock(plan(['- a', '+ <b> `c`']))).toBe("```\n- a\n+ &lt;b&gt; 'c'\n```");
    const long = Array.from({ length: 45 }, (_, i) => `+ line ${i}`);
    const block = diffBlock(plan(long), 40);
    expect(block.split('\n')).toHaveLength(43);
    expect(block).toContain('+ line 39\n… 5 more line(s)\n```');
    expect(block).not.toContain('+ line 40');
    expect(cniPlanSteps(false).map((s) => s.title)).toEqual([
      'read the running calico-node, the bundled and the deployed manifest on every node',
      'build the new manifest: the bundled one with the deployed customisations; refuse if it is not newer or a customisation cannot be carried over',
      'back up cni.yaml on every node',
      'write the new cni.yaml on every node (SFTP upload, then cp and mv into place)',
      'apply it from one control-plane node',
      'wait for the calico-node rollout on every node',
    ]);
    const restore = cniPlanSteps(true);
    expect(restore.map((s) => s.title)).toEqual([
      'read the recorded backups of cni.yaml and check they are on the nodes',
      'put each backup back as cni.yaml',
      'apply it',
      'wait for the calico-node rollout on every node',
    ]);
    expect(restore[2]?.commands).toEqual([`microk8s kubectl apply -f ${DEPLOYED_CNI}`]);
  });
});
