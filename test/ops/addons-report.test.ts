/**
 * What an upgrade leaves behind (src/ops/addons-report.ts): the read over the nodes (enabled
 * add-ons from the first control-plane node that answers, the running calico-node, each node's
 * shipped and deployed manifests, the no-manage lock, a cni.yaml.backup a refresh left) and its
 * rendering — up to date, customised, replaced by a refresh, locked, behind, unreadable.
 */
import { describe, expect, it } from 'vitest';
import { plain, readAddonsReport, renderAddonsReport, type AddonsReport } from '../../src/ops/addons-report.ts';
import { simCalico } from '../../src/sim/calico.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const NODES = ['k8s-1', 'k8s-2', 'k8s-3'];
const CIDR = '10.100.0.0/16';
const ADDONS = 'add-ons not upgraded: core/dns 1.10.1, core/ha-cluster 0.1.0';

describe('the add-ons and CNI report on a 1.24 cluster with a custom pod CIDR', () => {
  const rig = useOpsRig({ nodes: NODES.map((name) => ({ name, channel: '1.24/stable' })) });

  it('reads the enabled add-ons, the running calico-node and every node\'s manifests, changing nothing', async () => {
    simCalico(rig.sim.state).customise((t) => t.replace('value: "10.1.0.0/16"', `value: "${CIDR}"`));
    const r = await rig.run((run) => readAddonsReport(run));
    expect(r).toMatchObject({ cluster: rig.cluster.name, controller: 'k8s-1', running: 'v3.21.4', daemonSet: { image: 'docker.io/calico/node:v3.21.4', desired: 3, updated: 3, available: 3 } });
    expect(r.addons.map((a) => `${a.repository}/${a.name} ${a.version}`)).toEqual(['core/dns 1.10.1', 'core/ha-cluster 0.1.0']);
    expect(r.addons.every((a) => a.enabled)).toBe(true);
    expect(r.nodes.map((n) => [n.node, n.bundled, n.deployed, n.noManage, n.customisations.map((c) => `${c.key}=${c.deployed}`), n.lost])).toEqual(
      NODES.map((n) => [n, 'v3.21.4', 'v3.21.4', false, [`CALICO_IPV4POOL_CIDR=${CIDR}`], []]),
    );
    const k1 = rig.commands('k8s-1');
    expect(k1.indexOf('microk8s status --format yaml')).toBeGreaterThan(-1);
    expect(k1.indexOf('microk8s kubectl get ds calico-node -n kube-system -o json')).toBeGreaterThan(k1.indexOf('microk8s status --format yaml')); // the DaemonSet from the node that answered
    expect(rig.commands('k8s-2').some((c) => c.startsWith('microk8s'))).toBe(false);
    expect(rig.commands().every((c) => /^(microk8s status|microk8s kubectl get |cat |test -e |sha256sum )/.test(c))).toBe(true);
    // Each distinct manifest read once: the nodes hash theirs, run one revision and deploy the same cni.yaml.
    expect(rig.commands().filter((c) => c.startsWith('sha256sum '))).toHaveLength(3);
    expect(rig.commands().filter((c) => c.startsWith('cat ') && c.endsWith('/resources/calico.yaml'))).toHaveLength(1);
    expect(rig.commands().filter((c) => c.startsWith('cat ') && c.endsWith('/cni-network/cni.yaml'))).toHaveLength(1);

    const { headline, lines } = renderAddonsReport(r);
    expect(headline).toBe(`Calico v3.21.4 is running (this release ships v3.21.4): up to date. ${ADDONS}`);
    expect(lines).toContain('• running: docker.io/calico/node:v3.21.4 (DaemonSet calico-node: 3/3 updated, 3 available)');
    expect(lines).toContain('• k8s-1, k8s-2, k8s-3: revision ships v3.21.4; cni.yaml has v3.21.4; MicroK8s manages Calico here: a refresh to 1.25+ replaces this 3.21 cni.yaml with the shipped one, keeping only a can-reach IP autodetection (other customisations are lost) — create var/lock/no-manage-calico to prevent it');
    expect(lines).toContain(`Customisations of cni.yaml against the shipped manifest (k8s-1): pod CIDR CALICO_IPV4POOL_CIDR=${CIDR} (shipped: 10.1.0.0/16)`);
    expect(lines.some((l) => l.startsWith('*To do:*'))).toBe(false);
  });

  it('after refreshes to 1.25: flags the cni.yaml a refresh replaced (CIDR lost), the locked node, and manifests older than the running Calico', async () => {
    simCalico(rig.sim.state).lockNoManage('k8s-2');
    await rig.run(async (run) => {
      for (const n of ['k8s-1', 'k8s-2']) {
        await run.node(n).refresh('1.25/stable');
        await run.node('k8s-3').waitNodeReady(n, 20);
      }
    });
    const r = await rig.run((run) => readAddonsReport(run));
    expect(r.running).toBe('v3.23.3');
    expect(r.nodes.find((n) => n.node === 'k8s-1')).toMatchObject({ bundled: 'v3.23.3', deployed: 'v3.23.3', backupVersion: 'v3.21.4', lost: [{ key: 'CALICO_IPV4POOL_CIDR', before: CIDR, now: '10.1.0.0/16' }] });
    expect(r.nodes.find((n) => n.node === 'k8s-2')).toMatchObject({ bundled: 'v3.23.3', deployed: 'v3.21.4', noManage: true, lost: [] });

    const { headline, lines } = renderAddonsReport(r, '1.25');
    expect(headline).toBe(`Calico v3.23.3 is running (1.25 ships v3.23.3): up to date. ⚠️ k8s-1: a refresh replaced cni.yaml (v3.21.4 → v3.23.3) and dropped CALICO_IPV4POOL_CIDR. ${ADDONS}`);
    expect(renderAddonsReport(r).headline).toMatch(/^Calico v3\.23\.3 is running \(k8s-1, k8s-2 ship v3\.23\.3\): up to date\./);
    expect(lines).toContain('• k8s-2: revision ships v3.23.3; cni.yaml has v3.21.4; MicroK8s does not manage Calico here (var/lock/no-manage-calico): a refresh never touches cni.yaml');
    expect(lines).toContain('• k8s-1: revision ships v3.23.3; cni.yaml has v3.23.3; MicroK8s manages Calico here, but a refresh only replaces 3.21 manifests: this one stays as it is');
    for (const n of ['k8s-2', 'k8s-3']) {
      expect(lines).toContain(`  ⚠️ ${n}: cni.yaml (v3.21.4) is older than the running Calico (v3.23.3); if MicroK8s re-applies it there (its reconcile hook does when var/lock/cni-loaded is gone), Calico goes back to v3.21.4`);
    }
    expect(lines).toContain(`⚠️ k8s-1: MicroK8s upgraded Calico on a refresh and replaced cni.yaml (kept as cni.yaml.backup, v3.21.4); lost: CALICO_IPV4POOL_CIDR was ${CIDR}, now 10.1.0.0/16. Put them back in /var/snap/microk8s/current/args/cni-network/cni.yaml and re-apply it; create var/lock/no-manage-calico so the next refresh leaves it alone.`);
    expect(lines.at(-1)).toBe('(MicroK8s 1.25 ships v3.23.5 at its branch tip; this revision ships v3.23.3.)');
  });

  it('reads a node on its own when it cannot hash its manifests, or when a shared read does not match the digests', async () => {
    rig.sim.inject({ node: 'k8s-2', match: 'sha256sum', kind: 'fail', exitCode: 127, stderr: 'sudo: sha256sum: command not found\n' });
    // The first shared read of a bundled calico.yaml comes back as another (valid) manifest: changed since it was hashed.
    const other = simCalico(rig.sim.state).cniYaml('k8s-3')!;
    rig.sim.inject({ node: '*', match: /^cat \S+\/resources\/calico\.yaml$/, kind: 'fail', exitCode: 0, stdout: other, stderr: '', times: 1 });
    const r = await rig.run((run) => readAddonsReport(run));
    expect(r.nodes.map((n) => [n.node, n.bundled, n.deployed, n.problem])).toEqual([
      ['k8s-1', 'v3.23.3', 'v3.23.3', undefined],
      ['k8s-2', 'v3.23.3', 'v3.21.4', undefined],
      ['k8s-3', 'v3.21.4', 'v3.21.4', undefined],
    ]);
    const cats = (node: string) => rig.commands(node).filter((c) => c.startsWith('cat ') && c.endsWith('/resources/calico.yaml')).length;
    // k8s-2 read its own; the shared read of k8s-1's revision (from k8s-1) did not match its digest, so k8s-1 read its own again.
    expect([cats('k8s-1'), cats('k8s-2'), cats('k8s-3')]).toEqual([2, 1, 1]);
  });

  it('asks the next control-plane node when the first does not answer, and says which nodes it could not read', async () => {
    rig.sim.inject({ node: 'k8s-1', match: 'microk8s status', kind: 'fail', exitCode: 1, stderr: 'Connection refused\n' });
    rig.sim.inject({ node: 'k8s-3', match: 'cni-network/cni.yaml', kind: 'fail', exitCode: 1, stderr: 'cat: permission denied\n' });
    const r = await rig.run((run) => readAddonsReport(run));
    expect(r.controller).toBe('k8s-2');
    expect(r.addonsProblem).toBeUndefined();
    expect(rig.commands('k8s-2')).toContain('microk8s kubectl get ds calico-node -n kube-system -o json');
    expect(r.nodes.find((n) => n.node === 'k8s-3')?.problem).toContain('permission denied');
    const { lines } = renderAddonsReport(r);
    expect(lines[0]).toBe('*Add-ons* (enabled, as k8s-2 reports them):');
    expect(lines.find((l) => l.startsWith('• k8s-3:'))).toMatch(/^• k8s-3: could not read the manifests \(.*permission denied.*\)$/);
  });

  it('with no control-plane node answering: no add-ons, no CNI read, and says so', async () => {
    rig.sim.inject({ node: '*', match: 'microk8s status', kind: 'fail', exitCode: 1, stderr: 'Connection refused\n' });
    const r = await rig.run((run) => readAddonsReport(run));
    expect(r.controller).toBeUndefined();
    expect(r.daemonSet).toBeUndefined();
    expect(r.addons).toEqual([]);
    expect(r.addonsProblem).toMatch(/^k8s-3: /);
    expect(rig.commands().some((c) => c.includes('get ds'))).toBe(false);
    const { headline, lines } = renderAddonsReport(r);
    // each node's files are still read: the replaced cni.yaml is still flagged
    expect(headline).toBe('CNI: not read. ⚠️ k8s-1: a refresh replaced cni.yaml (v3.21.4 → v3.23.3) and dropped CALICO_IPV4POOL_CIDR');
    expect(lines[0]).toBe(`*Add-ons*: ${plain(r.addonsProblem!, 200)}`);
    expect(lines).toContain('• running: unknown');
  });
});

describe('renderAddonsReport, from a report', () => {
  const report = (over: Partial<AddonsReport>): AddonsReport => ({ cluster: 'c', controller: 'k8s-1', addons: [], nodes: [], ...over });
  const node = (name: string, bundled: string, deployed: string) => ({ node: name, bundled, deployed, noManage: false, customisations: [], lost: [] });

  it('names the release that ships a newer Calico and says what to do; node text is made plain', () => {
    const r = report({
      running: 'v3.23.5',
      daemonSet: { image: 'docker.io/calico/node:v3.23.5', desired: 2, updated: 2, available: 2, ready: 2, generation: 1, observedGeneration: 1 },
      nodes: [node('k8s-1', 'v3.25.0', 'v3.23.5'), node('k8s-2', 'v3.25.0', 'v3.23.5')],
      addons: [{ name: 'x<@U1>', enabled: true, version: '`1`', description: '' }],
    });
    const { headline, lines } = renderAddonsReport(r, '1.27');
    expect(headline).toBe("Calico v3.23.5 is running; 1.27 ships v3.25.0 — `upgrade-cni` to move. add-ons not upgraded: x&lt;@U1&gt; '1'");
    expect(renderAddonsReport(r).headline).toMatch(/^Calico v3\.23\.5 is running; this release ships v3\.25\.0 — `upgrade-cni` to move/);
    expect(lines.find((l) => l.startsWith('*To do:*'))).toBe('*To do:* `upgrade-cni --dry-run` shows the new manifest (v3.25.0 with the customisations above carried over) as a diff; `upgrade-cni` applies it after an approval, with a backup for `upgrade-cni --restore`.');
    expect(lines).toContain("• x&lt;@U1&gt; '1'");
    expect(lines).toContain('cni.yaml has no customisations against the shipped manifest.');
    expect(plain('a\nb\u0007c', 200)).toBe('a b c');
    expect(plain('abcdef', 3)).toBe('abc…');
  });

  it('a Calico whose shipped manifests were not read, and a cluster without calico-node', () => {
    expect(renderAddonsReport(report({ running: 'v3.23.5', nodes: [{ node: 'k8s-1', noManage: false, customisations: [], lost: [], problem: 'x' }] })).headline).toBe("Calico v3.23.5 is running; no node's shipped manifest could be read");
    const none = renderAddonsReport(report({ cniProblem: 'no calico-node DaemonSet in kube-system (another CNI?)' }));
    expect(none.headline).toBe('CNI: no calico-node DaemonSet in kube-system (another CNI?)');
    expect(none.lines).toContain('• running: no calico-node DaemonSet in kube-system (another CNI?)');
  });
});
