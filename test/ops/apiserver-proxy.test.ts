/**
 * A worker's API-server proxy (src/ops/apiserver-proxy.ts) on 3 control-plane nodes and 2
 * workers: the inventory checks and the plan, the preflight (read-only, what changes, warnings,
 * a node that answers as a control plane), the approval's re-check, backup → write → restart →
 * heartbeat (and a second write that has nothing to do), and an address the worker cannot use:
 * Restore puts the old files back, Leave as is says where the backups are.
 */
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import {
  backupProxyFilesStep,
  controlPlaneEndpoints,
  describeChange,
  describeProxy,
  preflightProxy,
  proxyApproval,
  proxyDoneText,
  proxyPlan,
  restartAndCheckStep,
  titles,
  validateProxyNode,
  writeProxyFilesStep,
  type ProxyMode,
} from '../../src/ops/apiserver-proxy.ts';
import type { KubeNode } from '../../src/microk8s/types.ts';
import { addLoadBalancer, proxyEndpoints, readNodeFile } from '../../src/sim/node-config.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const ARGS = '/var/snap/microk8s/current/args/apiserver-proxy';
const PROVIDER = '/var/snap/microk8s/current/args/traefik/provider.yaml';
const CONTROL_PLANES = ['10.0.0.11:16443', '10.0.0.12:16443', '10.0.0.13:16443'];
const LB: ProxyMode = { kind: 'lb', address: '10.0.0.100:16443' };
const STAMP = '20260101T000000Z';

type Provider = { tcp: { services: { 'kube-apiserver': { loadBalancer: { servers: Array<{ address: string }> } } } } };

describe('apiserver-proxy', () => {
  const rig = useOpsRig({
    nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }, { name: 'k8s-3' }, { name: 'w1', role: 'worker' }, { name: 'w2', role: 'worker' }],
    policy: { readyTimeout: '2s' }, // a broken proxy shows as a missing heartbeat: do not wait long for it
  });
  const file = (node: string, path: string) => readNodeFile(rig.sim.state, rig.sim.state.node(node), path);
  const servers = (node: string) => (parse(file(node, PROVIDER) ?? '') as Provider).tcp.services['kube-apiserver'].loadBalancer.servers.map((s) => s.address);
  const writes = () => rig.commands().filter((c) => /^(cp |mv |sftp put|snap restart)/.test(c));

  beforeAll(() => {
    addLoadBalancer(rig.sim.state, '10.0.0.100:16443');
  });

  it('takes only a known Linux worker, and plans preflight, backup, write, restart, check', () => {
    expect(validateProxyNode(rig.cluster, 'w1')).toBeUndefined();
    expect(validateProxyNode(rig.cluster, 'nope')).toBe(`unknown node 'nope' in cluster ${rig.cluster.name}; its nodes are k8s-1, k8s-2, k8s-3, w1, w2`);
    expect(validateProxyNode(rig.cluster, 'k8s-1')).toBe('k8s-1 is a control-plane node: the API-server proxy runs only on worker nodes (a control-plane node talks to its own API server). Pick a worker: w1, w2.');
    const plan = proxyPlan('w1', LB, rig.cluster);
    expect(plan.map((s) => s.title)).toEqual([titles.preflight('w1'), titles.backup('w1'), titles.write('w1'), titles.restart('w1'), titles.check('w1')]);
    expect(plan[2]?.commands.slice(0, 2)).toEqual(['provider.yaml: tcp.services.kube-apiserver.loadBalancer.servers = [10.0.0.100:16443]', 'apiserver-proxy: --refresh-interval 0']);
    expect(proxyPlan('w1', { kind: 'auto' }, rig.cluster)[2]?.commands[1]).toBe('apiserver-proxy: --refresh-interval 30s');
    expect(plan[3]?.commands).toEqual(['sudo snap restart microk8s.daemon-apiserver-proxy']);
  });

  it('preflight reads the worker and says what changes, touching nothing; the approval re-checks the files', async () => {
    const pre = await rig.run((run) => preflightProxy(run, 'w1', LB, STAMP));
    expect(pre).toMatchObject({
      controller: 'k8s-1', stamp: STAMP, wasReady: true,
      refreshBefore: '30s', serversBefore: CONTROL_PLANES, refreshAfter: '0', serversAfter: ['10.0.0.100:16443'],
      argsExists: true, providerExists: true, argsChanged: true, providerChanged: true,
      warnings: ['w1 stops discovering control-plane nodes by itself: if 10.0.0.100:16443 goes away, so does its API access.'],
    });
    expect(writes()).toEqual([]);
    expect(rig.commands('w1')).toEqual(['microk8s status --format yaml', `cat ${ARGS}`, `cat ${PROVIDER}`]);
    expect(describeChange(pre)).toEqual([`provider.yaml API servers: ${CONTROL_PLANES.join(', ')} → 10.0.0.100:16443`, 'apiserver-proxy --refresh-interval: 30s → 0']);

    const auto = await rig.run((run) => preflightProxy(run, 'w1', { kind: 'auto' }, STAMP));
    expect(auto).toMatchObject({ serversAfter: CONTROL_PLANES, refreshAfter: '30s', argsChanged: false, providerChanged: false, warnings: [] });
    expect(describeChange(auto)).toEqual([`provider.yaml API servers: ${CONTROL_PLANES.join(', ')} → ${CONTROL_PLANES.join(', ')} (unchanged)`, 'apiserver-proxy --refresh-interval: 30s → 30s (unchanged)']);

    await rig.run(async (run) => {
      const approval = proxyApproval(run, 'w1', LB, pre);
      expect(approval.title).toBe("Point w1's API-server proxy at 10.0.0.100:16443");
      expect(approval.what).toBe(`⚠️ ${pre.warnings[0]}\n${describeChange(pre).join('\n')}\nThen restart microk8s.daemon-apiserver-proxy and check w1's kubelet still reaches the API.`);
      expect(await approval.recheck?.()).toBe(true);
      // someone edits provider.yaml meanwhile: the re-check refuses
      await run.node('w1').writeFile(PROVIDER, `${file('w1', PROVIDER)!}# edited\n`, run.jobId, true);
      await expect(approval.recheck?.()).rejects.toThrow(new RunbookFailure(`${PROVIDER} on w1 changed since the plan was approved. Nothing was done; request the change again.`));
    });
  });

  it('refuses a worker that answers as a control-plane node, and one without the proxy\'s args file', async () => {
    const cp = await rejectionOf(rig.run((run) => preflightProxy(run, 'k8s-2', LB, STAMP)), RunbookFailure);
    expect(cp.message).toBe('k8s-2 is a worker in the inventory, but MicroK8s on it answers as a control-plane node (microk8s status runs there). Nothing was changed; check the inventory.');
    const w2 = rig.sim.state.node('w2');
    const path = [...w2.fs.files.keys()].find((p) => p.endsWith('/args/apiserver-proxy'))!;
    const saved = w2.fs.files.get(path)!;
    w2.fs.files.delete(path);
    try {
      const err = await rejectionOf(rig.run((run) => preflightProxy(run, 'w2', LB, STAMP)), RunbookFailure);
      expect(err.message).toBe(`w2 has no ${ARGS}: is it a MicroK8s worker joined with --worker? Nothing was changed.`);
    } finally {
      w2.fs.files.set(path, saved);
    }
  });

  it('backs up, writes, restarts and sees the heartbeat; writing again has nothing to do', async () => {
    const argsBefore = file('w1', ARGS)!;
    const providerBefore = file('w1', PROVIDER)!;
    const { pre, backups } = await rig.run(async (run) => {
      const p = await preflightProxy(run, 'w1', LB, STAMP);
      const b = await backupProxyFilesStep(run, 'w1', p);
      await writeProxyFilesStep(run, 'w1', p);
      await restartAndCheckStep(run, 'w1', b);
      return { pre: p, backups: b };
    });
    expect(rig.doneSteps()).toEqual([titles.backup('w1'), titles.write('w1'), titles.restart('w1'), titles.check('w1')]);
    expect(backups).toEqual([{ file: ARGS, backup: `${ARGS}.mk8s-${STAMP}` }, { file: PROVIDER, backup: `${PROVIDER}.mk8s-${STAMP}` }]);
    expect(file('w1', backups[0]!.backup)).toBe(argsBefore);
    expect(file('w1', backups[1]!.backup)).toBe(providerBefore);
    expect(file('w1', ARGS)).toBe(argsBefore.replace('--refresh-interval 30s', '--refresh-interval 0'));
    expect(servers('w1')).toEqual(['10.0.0.100:16443']);
    expect(proxyEndpoints(rig.sim.state, rig.sim.state.node('w1'))).toEqual(['10.0.0.100:16443']);
    expect(rig.commands('w1').filter((c) => c === 'snap restart microk8s.daemon-apiserver-proxy')).toHaveLength(1);
    expect(rig.commands().filter((c) => c.startsWith('microk8s kubectl get lease w1'))).not.toEqual([]);
    expect(await rig.line(`✅ ${titles.write('w1')}`)).toMatch(`✅ ${titles.write('w1')} — wrote provider.yaml and apiserver-proxy · `);
    expect(proxyDoneText('w1', LB, pre, backups)).toBe(`w1 reaches the API through 10.0.0.100:16443; automatic discovery of control-plane nodes is off (--refresh-interval 0). Backups: ${ARGS}.mk8s-${STAMP}, ${PROVIDER}.mk8s-${STAMP}.`);

    expect(await rig.run((run) => writeProxyFilesStep(run, 'w1', pre))).toEqual([]);
    expect(writes()).toEqual([]);
    expect(await rig.run((run) => describeProxy(run, 'w1'))).toBe('w1: proxy → 10.0.0.100:16443, --refresh-interval 0, Ready');
  });

  it('an address the worker cannot use: Restore puts the old files back and the job still fails, saying so', async () => {
    const before = { args: file('w2', ARGS), provider: file('w2', PROVIDER) };
    const asked: string[] = [];
    const err = await rejectionOf(
      rig.run(async (run) => {
        const p = await preflightProxy(run, 'w2', { kind: 'lb', address: '10.9.9.9:6443' }, STAMP);
        const b = await backupProxyFilesStep(run, 'w2', p);
        await writeProxyFilesStep(run, 'w2', p);
        await restartAndCheckStep(run, 'w2', b);
      }, { decide: (g) => (asked.push(g.title), { choice: 'restore' }) }),
      RunbookFailure,
    );
    expect(asked).toEqual(['w2 did not stay healthy with the new proxy settings']);
    expect(err.message).toMatch(/^The new proxy settings failed on w2: w2 did not show a kubelet heartbeat within 2 s: .* The previous settings were restored and w2 is healthy again; nothing else changed\.$/);
    expect(rig.doneSteps()).toEqual([titles.backup('w2'), titles.write('w2'), titles.restart('w2'), titles.restore('w2'), titles.recheckRestored('w2')]);
    expect(file('w2', ARGS)).toBe(before.args);
    expect(file('w2', PROVIDER)).toBe(before.provider);
    expect(rig.sim.state.isReady(rig.sim.state.node('w2'))).toBe(true);
  });

  it('Leave as is keeps the new files and says where the backups are', async () => {
    const stamp = '20260102T000000Z';
    const err = await rejectionOf(
      rig.run(async (run) => {
        const p = await preflightProxy(run, 'w2', { kind: 'lb', address: '10.9.9.9:6443' }, stamp);
        const b = await backupProxyFilesStep(run, 'w2', p);
        await writeProxyFilesStep(run, 'w2', p);
        await restartAndCheckStep(run, 'w2', b);
      }, { decide: () => ({ choice: 'leave' }) }),
      RunbookFailure,
    );
    expect(err.message).toMatch(new RegExp(`The previous files are kept as ${ARGS}\\.mk8s-${stamp} and ${PROVIDER.replace(/\./g, '\\.')}\\.mk8s-${stamp}; copy them back \\(sudo cp -p <backup> <file>\\) and run \`sudo snap restart microk8s\\.daemon-apiserver-proxy\` on w2, or request \`apiserver-proxy w2 --auto\`\\.$`));
    expect(err.message).toMatch(/^w2's proxy settings were changed but w2 did not pass the check: /);
    expect(servers('w2')).toEqual(['10.9.9.9:6443']);
    expect(await rig.run((run) => describeProxy(run, 'w2'))).toBe('w2: proxy → 10.9.9.9:6443, --refresh-interval 0, NotReady');
    // --auto's endpoints: Ready control-plane nodes (by label, or by the inventory when unlabelled) with an InternalIP
    const kube = (name: string, ready: boolean, role: KubeNode['role'], internalIp?: string): KubeNode => ({ name, ready, role, unschedulable: false, kubeletVersion: 'v1.22.3', labels: {}, ...(internalIp ? { internalIp } : {}) });
    const nodes = [kube('k8s-3', true, 'unknown', '10.0.0.13'), kube('k8s-1', true, 'control-plane', '10.0.0.11'), kube('k8s-2', false, 'control-plane', '10.0.0.12'), kube('x', true, 'control-plane'), kube('w1', true, 'worker', '10.0.0.21')];
    expect(controlPlaneEndpoints(rig.cluster, nodes)).toEqual(['10.0.0.11:16443', '10.0.0.13:16443']);
  });
});
