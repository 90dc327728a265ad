/**
 * The cluster side of a Windows worker (src/ops/windows-cluster.ts): the inventory check, the
 * release URLs, the KB5040437 note and --to's bounds as pure helpers; over the real run context
 * the preflight (reads only; its refusals: Calico unreadable, Calico ≥ 3.31, calicoctl missing,
 * PowerShell unreachable; its warnings) and prepareCalico (calicoctl downloaded once, strict
 * affinity set, safe to repeat). The runbooks are test/e2e/windows-worker*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { clusterConfig, parseInventory } from '../../src/config/inventory.ts';
import { RunbookFailure } from '../../src/engine/errors.ts';
import {
  calicoctlUrl,
  calicoReleaseUrl,
  knownBuildWarning,
  preflightWindows,
  prepareCalico,
  upgradeTarget,
  validateWindowsNode,
  windowsNodes,
} from '../../src/ops/windows-cluster.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const CALICOCTL = '/usr/local/bin/calicoctl';
const NODES = [{ name: 'k8s-1', channel: '1.27/stable' }, { name: 'k8s-2', channel: '1.27/stable' }, { name: 'w1', os: 'windows' as const }];
/** The reads of the preflight: no command on the nodes that changes anything. */
const CHANGES = /^(curl|microk8s (join|add-node)|.*calicoctl ipam configure)|Invoke-WebRequest|New-Item|Start-Service/;

describe('windows-cluster: pure helpers', () => {
  const cluster = clusterConfig(
    parseInventory(
      `
clusters:
  prod:
    channel: C0PROD00001
    ssh: { user: ubuntu, privateKeyPath: /nonexistent, knownHostsPath: /nonexistent }
    windows: { user: Administrator, calicoReleaseBaseUrl: 'https://mirror.example/calico/' }
    nodes:
      - { name: k8s-1, host: 10.0.0.11, role: control-plane }
      - { name: win1, host: 10.0.0.21, role: worker, os: windows }
      - { name: win2, host: 10.0.0.22, role: worker, os: windows }
rbac: { operators: [alice], approvers: [bob] }
`,
      'windows-cluster-test.yml',
    ),
    'prod',
  )!;

  it('checks the node is a Windows node of the cluster (naming them otherwise), builds the release URLs, notes only the KB5040437 build', () => {
    expect(windowsNodes(cluster)).toEqual(['win1', 'win2']);
    expect(validateWindowsNode('win2', cluster)).toBeUndefined();
    expect(validateWindowsNode('win9', cluster)).toBe('node "win9" is not in cluster prod (its Windows nodes: win1, win2)');
    expect(validateWindowsNode('k8s-1', cluster)).toBe('k8s-1 is a Linux node in the inventory; windows-worker takes nodes with `os: windows` (win1, win2). For Linux nodes use add-node / remove-node / upgrade.');
    // the release URLs from the base, without a doubled slash; the KB5040437 note only on that build
    expect(calicoReleaseUrl(cluster, '3.25.0')).toBe('https://mirror.example/calico/v3.25.0');
    expect(calicoctlUrl(cluster, '3.25.0')).toBe('https://mirror.example/calico/v3.25.0/calicoctl-linux-amd64');
    expect(knownBuildWarning({ build: 20348, ubr: 2582, osBuild: '20348.2582' })).toMatch(/^OS build 20348\.2582 is the Windows Server 2022 July 2024 update \(KB5040437\), .*https:\/\/github\.com\/microsoft\/Windows-Containers\/issues\/516/);
    expect(knownBuildWarning({ build: 20348, ubr: 2527, osBuild: '20348.2527' })).toBeUndefined();
  });

  it('--to: the control plane\'s version by default; never newer than it, at most two minors older', () => {
    const pre = { kubeVersion: '1.27.5' };
    expect(upgradeTarget(pre, undefined)).toBe('1.27.5');
    expect(upgradeTarget(pre, 'v1.26.9')).toBe('1.26.9');
    expect(upgradeTarget(pre, '1.27.3')).toBe('1.27.3');
    expect(upgradeTarget(pre, '1.25.0')).toBe('1.25.0');
    expect(() => upgradeTarget(pre, '1.27.10')).toThrow('--to 1.27.10 is newer than the control plane (1.27.5): a kubelet must not be ahead of the API server. Upgrade the cluster first. Nothing was changed.');
    expect(() => upgradeTarget(pre, '1.28.0')).toThrow(RunbookFailure);
    expect(() => upgradeTarget(pre, '1.24.17')).toThrow('--to 1.24.17 is more than two minor versions behind the control plane (1.27.5). Nothing was changed.');
  });
});

describe('windows-cluster: preflight and strict affinity (fetchCalicoctl: true)', () => {
  const rig = useOpsRig({ nodes: NODES, extra: { windows: { user: 'Administrator', fetchCalicoctl: true } } });
  const changes = () => rig.commands().filter((c) => CHANGES.test(c) || CHANGES.test(rig.sim.commandLog.find((r) => r.argv.join(' ') === c)?.decoded ?? ''));

  it('reads the versions, the Windows node and calicoctl (missing: to be fetched) without changing anything', async () => {
    const pre = await rig.run((run) => preflightWindows(run, 'w1'));
    expect(pre).toEqual({
      node: 'w1', controller: 'k8s-1', kubeVersion: '1.27.5', calicoVersion: '3.25.0', calicoFrom: expect.stringMatching(/^the calico-node DaemonSet \(\S+calico\/node:v3\.25\.0\)$/),
      calicoctl: 'fetch', calicoctlVersion: '3.25.0', productName: 'Windows Server 2022 Datacenter', osBuild: '20348.587', lastBoot: expect.any(String), inCluster: false, warnings: [],
    });
    expect(rig.commands('w1')).toHaveLength(1);
    expect(rig.commands('k8s-1')).toContain(`env KUBECONFIG=/var/snap/microk8s/current/credentials/client.config DATASTORE_TYPE=kubernetes ${CALICOCTL} version`);
    expect(changes()).toEqual([]);
  });

  it('prepareCalico downloads calicoctl once and sets strict affinity; a repeat finds calicoctl there', async () => {
    const pre = await rig.run((run) => preflightWindows(run, 'w1'));
    expect(await rig.run((run) => prepareCalico(run, pre))).toBe(`calicoctl v3.25.0 downloaded to ${CALICOCTL}; StrictAffinity true (on k8s-1)`);
    expect(rig.commands('k8s-1')).toContain(`curl -fsSL -o ${CALICOCTL} https://github.com/projectcalico/calico/releases/download/v3.25.0/calicoctl-linux-amd64`);
    expect(rig.commands('k8s-1')).toContain(`env KUBECONFIG=/var/snap/microk8s/current/credentials/client.config DATASTORE_TYPE=kubernetes ${CALICOCTL} ipam configure --strictaffinity=true --allow-version-mismatch`);
    // the step in flight during a crash runs again: calicoctl is there now, not downloaded again
    expect(await rig.run((run) => prepareCalico(run, pre))).toBe('StrictAffinity true (on k8s-1)');
    expect(rig.commands('k8s-1').filter((c) => c.startsWith('curl '))).toEqual([]);
    // and the next preflight finds it
    expect(await rig.run((run) => preflightWindows(run, 'w1'))).toMatchObject({ calicoctl: 'present', calicoctlVersion: '3.25.0', warnings: [] });
  });

  it('warns about the KB5040437 build, with the seed\'s link', async () => {
    const win = rig.sim.state.node('w1').windows!;
    win.ubr = 2582;
    try {
      const pre = await rig.run((run) => preflightWindows(run, 'w1'));
      expect(pre.osBuild).toBe('20348.2582');
      expect(pre.warnings).toEqual([expect.stringMatching(/^OS build 20348\.2582 is the Windows Server 2022 July 2024 update \(KB5040437\)/)]);
    } finally {
      win.ubr = 587;
    }
  });

  it('refuses when the Calico version cannot be read (and the inventory names none), when it is 3.31+, and when PowerShell cannot be reached', async () => {
    rig.sim.inject({ node: '*', match: 'get ds/calico-node', kind: 'fail', exitCode: 1, stderr: 'Error from server (NotFound): daemonsets.apps "calico-node" not found' });
    const err = await rejectionOf(rig.run((run) => preflightWindows(run, 'w1')), RunbookFailure);
    expect(err.message).toMatch(/^Cannot read the Calico version from k8s-1 \(.*daemonsets\.apps "calico-node" not found.*\)\. The cluster must run Calico; if it does, set windows\.calicoVersion in the inventory\. Nothing was changed\.$/s);
    expect(rig.commands('w1')).toEqual([]);
    rig.sim.clearFaults();

    // Calico 3.31 and later: no kubernetes\ scripts for Windows
    const ds = JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'calico-node', image: 'docker.io/calico/node:v3.31.2' }] } } } });
    rig.sim.inject({ node: '*', match: 'get ds/calico-node', kind: 'fail', exitCode: 0, stdout: ds, stderr: '' });
    const newer = await rejectionOf(rig.run((run) => preflightWindows(run, 'w1')), RunbookFailure);
    expect(newer.message).toMatch(/^The cluster runs Calico 3\.31\.2: Calico for Windows v3\.31 and later no longer ship the kubernetes\\ scripts .* Set windows\.calicoVersion to a v3\.30 or older release\. Nothing was changed\.$/);
    expect(rig.commands('w1')).toEqual([]);
    rig.sim.clearFaults();

    // the Windows node does not answer
    await rig.sim.setDown('w1', true);
    try {
      const silent = await rejectionOf(rig.run((run) => preflightWindows(run, 'w1')), RunbookFailure);
      expect(silent.message).toMatch(/^Cannot run PowerShell on w1: cannot connect to w1 .*\. Nothing was changed\.$/);
    } finally {
      await rig.sim.setDown('w1', false);
    }
  });
});

describe('windows-cluster: preflight with windows.calicoVersion and no fetchCalicoctl', () => {
  const rig = useOpsRig({ nodes: NODES, extra: { windows: { user: 'Administrator', calicoVersion: 'v3.24.1' } } });

  it('falls back to the inventory\'s Calico version, and refuses without calicoctl, saying how to install it', async () => {
    rig.sim.inject({ node: '*', match: 'get ds/calico-node', kind: 'fail', exitCode: 1, stderr: 'error: the server doesn\'t have a resource type "ds"' });
    const err = await rejectionOf(rig.run((run) => preflightWindows(run, 'w1')), RunbookFailure);
    const url = 'https://github.com/projectcalico/calico/releases/download/v3.24.1/calicoctl-linux-amd64';
    expect(err.message).toBe(
      `calicoctl is not on k8s-1 at ${CALICOCTL}. Install calicoctl v3.24.1 there (\`sudo curl -L ${url} -o ${CALICOCTL} && sudo chmod +x ${CALICOCTL}\`), or set windows.fetchCalicoctl: true in the inventory to let the bot download it from ${url}. Nothing was changed.`,
    );
  });

  it('takes a calicoctl of another version that is there, with a warning; the Calico version from the inventory says so', async () => {
    const cp = rig.sim.state.node('k8s-1');
    expect(cp.fs.writeFile(cp.fs.resolve(CALICOCTL), Buffer.from('calicoctl v3.24.5\n'), true, Date.now())).toBeUndefined();
    rig.sim.inject({ node: '*', match: 'get ds/calico-node', kind: 'fail', exitCode: 1, stderr: 'error: the server doesn\'t have a resource type "ds"' });
    const pre = await rig.run((run) => preflightWindows(run, 'w1'));
    expect(pre).toMatchObject({ calicoVersion: '3.24.1', calicoFrom: 'the inventory (windows.calicoVersion)', calicoctl: 'present', calicoctlVersion: '3.24.5' });
    expect(pre.warnings).toEqual(['calicoctl on k8s-1 is v3.24.5, the cluster runs Calico v3.24.1: it runs with --allow-version-mismatch, as the seed does.']);
  });
});
