/**
 * Quorum recovery, the doing half (src/ops/recover-quorum-steps.ts), step by step on a 5-node
 * cluster that lost two of its three voters: what each step does on which node, that each is safe
 * to repeat, and the failure choice. (The survey is recover-quorum.ts; the runbook's order and
 * gates are test/e2e/recover-quorum.test.ts.)
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { CheckFailedError } from '../../src/errors/user-facing.ts';
import { surveyCluster, type Survey } from '../../src/ops/recover-quorum.ts';
import {
  attempt,
  backUpSurvivor,
  markLostMembers,
  packTemplate,
  recoveryPlan,
  reconfigureTemplate,
  removeLost,
  reportHa,
  startSurvivor,
  stopSurvivor,
  survivorsState,
  updateSurvivor,
  waitForNewVoters,
  writeClusterYaml,
  type Pack,
  type SurvivorBackup,
} from '../../src/ops/recover-quorum-steps.ts';
import { readLost } from '../../src/store/lost-nodes.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { controlPlanes } from '../support/e2e.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('recover-quorum steps', () => {
  const rig = useOpsRig({ nodes: controlPlanes(5, { channel: '1.28/stable' }) });
  let s: Survey;
  const backups: SurvivorBackup[] = [];
  let pack: Pack;
  const others = () => s.survivors.map((x) => x.node).filter((n) => n !== s.template);

  it('surveys the survivors after two voters are lost; the plan covers every survivor and lost node', async () => {
    rig.sim.state.node('k8s-3').raftLag = 5;
    rig.sim.state.node('k8s-5').raftLag = 2;
    for (const n of ['k8s-1', 'k8s-2']) await rig.sim.setDown(n, true);
    s = await rig.run((run) => surveyCluster(run, undefined));
    expect(s.template).toBe('k8s-4');
    expect(s.survivors.map((x) => x.node).toSorted()).toEqual(['k8s-3', 'k8s-4', 'k8s-5']);
    expect(s.lost.toSorted()).toEqual(['k8s-1', 'k8s-2']);
    const plan = recoveryPlan(s);
    expect(plan.filter((p) => p.title.startsWith('step 1: ')).map((p) => p.node)).toEqual(s.survivors.map((x) => x.node));
    expect(plan.filter((p) => p.title.startsWith('step 7: ')).map((p) => p.title)).toEqual(s.lost.map((n) => `step 7: remove the lost node ${n}`));
    expect(plan.find((p) => p.title.startsWith('step 4: '))).toMatchObject({ title: 'step 4: reconfigure dqlite once, on k8s-4 only', node: 'k8s-4', destructive: true });
    expect(recoveryPlan(undefined).find((p) => p.title.startsWith('step 4'))?.title).toBe('step 4: reconfigure dqlite once, on <template> only');
  });

  it('step 1 backs up each survivor\'s backend, fetched and checked, leaving no copy on the node', async () => {
    for (const x of s.survivors) backups.push(await rig.run((run) => backUpSurvivor(run, x.node)));
    for (const b of backups) {
      expect(createHash('sha256').update(await readFile(b.localPath)).digest('hex')).toBe(b.sha256);
      expect(b.remotePath).toMatch(new RegExp(`/backend-${b.node}-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
      expect(rig.sim.state.node(b.node).fs.entry(b.remotePath)).toBeUndefined();
    }
    expect(rig.commands('k8s-5').at(-1)).toBe(`rm -f ${backups.find((b) => b.node === 'k8s-5')!.remotePath}`);
  });

  it('a failing step offers retry, restore or stop; Stop names the survivors and the backups', async () => {
    const err = await rejectionOf(
      rig.run((run) => attempt(run, s, backups, 'step 2', () => Promise.reject(new CheckFailedError('k8s-3 would not stop'))), { decide: () => ({ choice: 'stop' }) }),
      RunbookFailure,
    );
    expect(err.message).toMatch(/^step 2 failed: k8s-3 would not stop\. Stopped as asked; survivors: k8s-3: [^;]+, \d+ raft file\(s\); k8s-4: [^;]+; k8s-5: [^;]+\. The step-1 backups are /);
    expect(err.message.endsWith(`The step-1 backups are ${backups.map((b) => b.localPath).join(', ')}.`)).toBe(true);
    expect(rig.gates()[0]).toMatchObject({ title: 'step 2 failed: retry, restore the survivors, or stop?', kind: 'choice' });
    expect(rig.gates()[0]?.options?.find((o) => o.id === 'restore')).toMatchObject({ role: 'approver', destructive: true });
    let tries = 0;
    const r = await rig.run((run) => attempt(run, s, backups, 'step 2', async () => (++tries === 1 ? Promise.reject(new CheckFailedError('not yet')) : 'fine')), { decide: () => ({ choice: 'retry' }) });
    expect(r).toBe('fine');
    expect(tries).toBe(2);
  });

  it('step 2 stops each survivor and checks its dqlite port is closed', async () => {
    for (const x of s.survivors) expect(await rig.run((run) => stopSurvivor(run, x.node))).toMatch(/^stopped \(.*; :19001 closed\)$/);
    expect(rig.sim.state.node('k8s-5').stopped).toBe(true);
    expect(await rig.run((run) => survivorsState(run, s))).toMatch(/^k8s-3: [^;]*not running[^;]*, \d+ raft file\(s\); k8s-4: /);
  });

  it('steps 3 and 4 write the new cluster.yaml and reconfigure the template once; a repeat does neither again', async () => {
    expect(await rig.run((run) => writeClusterYaml(run, s))).toMatch(/^written; the old one kept as cluster\.yaml\.mk8s-prerecovery\d+$/);
    expect(await rig.run((run) => writeClusterYaml(run, s))).toBe('already in place');
    expect(await rig.run((run) => reconfigureTemplate(run, s))).toMatch(/^OK · new configuration entry \d+-\d+$/);
    expect(rig.commands('k8s-4').filter((c) => c.startsWith('/snap/microk8s/current/bin/dqlite'))).toHaveLength(1);
    expect(await rig.run((run) => reconfigureTemplate(run, s))).toMatch(/^already done \(\d+-\d+ holds the new configuration\); not run again$/);
    expect(rig.commands('k8s-4').some((c) => c.startsWith('/snap/microk8s/current/bin/dqlite'))).toBe(false);
  });

  it('step 5 packs the template\'s files and copies them to the other survivors, checksums compared, info.yaml kept', async () => {
    pack = await rig.run((run) => packTemplate(run, s));
    expect(Object.keys(pack.files)).toContain('cluster.yaml');
    expect(createHash('sha256').update(await readFile(pack.localPath)).digest('hex')).toBe(pack.sha256);
    for (const n of others()) {
      const text = await rig.run((run) => updateSurvivor(run, s, n, pack));
      expect(text).toMatch(new RegExp(`^\\d+ leftover file\\(s\\) deleted, ${Object.keys(pack.files).length} copied \\(sha256 match\\), info\\.yaml kept \\(ID \\d+, voter\\)$`));
      expect(rig.commands(n).some((c) => c.startsWith('tar -xzf'))).toBe(true);
      expect(rig.commands('k8s-4')).toEqual([]);
    }
  });

  it('step 6 starts the survivors and waits for the new voters; 7 removes the lost nodes (a repeat finds them gone); 8 reports', async () => {
    for (const x of s.survivors) expect(await rig.run((run) => startSurvivor(run, x.node))).toBe('started');
    const voters = await rig.run((run) => waitForNewVoters(run, s));
    expect(voters).toMatch(/^the API answers on every survivor; voters 10\.0\.0\.1[345]:19001, 10\.0\.0\.1[345]:19001, 10\.0\.0\.1[345]:19001$/);
    expect(rig.sim.state.hasQuorum()).toBe(true);
    for (const n of s.lost) {
      expect(await rig.run((run) => removeLost(run, s, n))).toMatch(/^removed/);
      expect(rig.commands('k8s-4')).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^microk8s remove-node ${n}`))]));
    }
    expect(await rig.run((run) => removeLost(run, s, 'k8s-1'))).toBe('k8s-1 is already gone from Kubernetes and dqlite');
    expect(await rig.run((run) => reportHa(run, s))).toMatch(/^high-availability yes · voters k8s-[345], k8s-[345], k8s-[345]$/);
  });

  it('step 8 marks the lost voters lost (not the survivors), with the old members their datastore still names', async () => {
    expect((await readLost(rig.redis, rig.cluster.name)).size).toBe(0);
    await rig.run((run) => markLostMembers(run, s));
    const marks = await readLost(rig.redis, rig.cluster.name);
    expect([...marks.keys()].toSorted()).toEqual(['k8s-1', 'k8s-2']);
    const oldMembers = s.members.map((m) => m.address);
    expect(oldMembers).toHaveLength(5);
    expect(marks.get('k8s-1')).toEqual({ node: 'k8s-1', address: s.members.find((m) => m.node === 'k8s-1')!.address, oldMembers, byJob: rig.jobId, at: expect.any(Number) });
    expect(rig.commands()).toEqual([]);
  });
});
