/**
 * Quorum recovery, the reading half (src/ops/recover-quorum.ts), over the real run context: one
 * survivor's backend read with reads only, the survey's refusals (quorum intact, --survivors
 * naming a silent node, a lost member still answering on :19001, no survivor at all), a survey
 * with a worker listed as spare, the template tie-break, the drift check and the line diff.
 * (The doing half is recover-quorum-steps.test.ts; the runbook is test/e2e/recover-quorum*.)
 */
import { describe, expect, it } from 'vitest';
import { RunbookFailure } from '../../src/engine/errors.ts';
import { describeSurvey, lineDiff, readSurvivor, sha256, surveyCluster, surveyDrift } from '../../src/ops/recover-quorum.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { controlPlanes, workers } from '../support/e2e.ts';
import { useOpsRig } from '../support/ops-rig.ts';
import { MUTATING } from '../support/recover-quorum.ts';

const BACKEND = '/var/snap/microk8s/current/var/kubernetes/backend';

describe('recover-quorum survey: 3 voters and a worker', () => {
  const rig = useOpsRig({ nodes: [...controlPlanes(3, { channel: '1.28/stable' }), ...workers(1, { channel: '1.28/stable' })] });
  const mutating = () => rig.commands().filter((c) => MUTATING.test(c));
  const setDown = async (down: readonly string[]) => {
    for (const n of ['k8s-1', 'k8s-2', 'k8s-3']) await rig.sim.setDown(n, down.includes(n));
  };

  it('reads one survivor\'s backend (info.yaml, cluster.yaml, the raft file names) with ls and cat only', async () => {
    const f = await rig.run((run) => readSurvivor(run, 'k8s-1'));
    expect(f.info).toMatchObject({ address: '10.0.0.11:19001', role: 0 });
    expect(f.infoText).toContain(`ID: ${f.info.id}`);
    expect(f.members.map((m) => [m.address, m.role])).toEqual([['10.0.0.11:19001', 0], ['10.0.0.12:19001', 0], ['10.0.0.13:19001', 0], ['10.0.0.14:19001', 2]]);
    expect(f.lastIndex).toBeGreaterThan(0);
    expect(f.files).toMatch(/^\d+ closed segment\(s\), \d+ snapshot\(s\)( \(\+meta\))?, \d+ open-\*/);
    expect(rig.commands('k8s-1').toSorted()).toEqual([`cat ${BACKEND}/cluster.yaml`, `cat ${BACKEND}/info.yaml`, `ls -1 ${BACKEND}`]);
  });

  it('refuses while quorum holds (2 of 3 voters answer), naming them and suggesting remove-node --force; nothing mutating runs', async () => {
    await setDown(['k8s-3']);
    const err = await rejectionOf(rig.run((run) => surveyCluster(run, undefined)), RunbookFailure);
    expect(err.message).toBe('Refused: quorum is not lost — 2 of 3 datastore voters answer (k8s-1 (10.0.0.11:19001), k8s-2 (10.0.0.12:19001)). For the one dead voter use `remove-node k8s-3 --force` instead. Nothing was run.');
    expect(mutating()).toEqual([]);
  });

  it('refuses --survivors naming a node that does not answer, with its error', async () => {
    await setDown(['k8s-2', 'k8s-3']);
    const err = await rejectionOf(rig.run((run) => surveyCluster(run, ['k8s-1', 'k8s-2'])), RunbookFailure);
    expect(err.message).toMatch(/^Refused: --survivors names k8s-2 \(.+\) — every survivor must answer over SSH and have its datastore\. Nothing was run\.$/);
    expect(rig.commands('k8s-2')).toEqual([]);
    expect(mutating()).toEqual([]);
  });

  it('refuses when a lost voter still answers on :19001 from a survivor', async () => {
    await setDown(['k8s-2', 'k8s-3']);
    rig.sim.state.node('k8s-3').portAnswersWhenDown = true;
    try {
      const err = await rejectionOf(rig.run((run) => surveyCluster(run, undefined)), RunbookFailure);
      expect(err.message).toMatch(/^Refused: k8s-3 \(10\.0\.0\.13:19001\) answers on :19001 from k8s-1 — a lost member must not answer at all before the datastore is reconfigured/);
      expect(err.message).not.toContain('k8s-2 (');
      expect(rig.commands('k8s-1')).toContain('nc -z -v -w 5 10.0.0.13 19001');
      expect(mutating()).toEqual([]);
    } finally {
      rig.sim.state.node('k8s-3').portAnswersWhenDown = false;
    }
  });

  it('surveys one survivor: the worker is a spare (answers SSH, not lost), the proposed cluster.yaml holds only the survivor', async () => {
    await setDown(['k8s-2', 'k8s-3']);
    const s = await rig.run((run) => surveyCluster(run, undefined));
    expect(s.survivors.map((x) => x.node)).toEqual(['k8s-1']);
    expect(s.lost).toEqual(['k8s-2', 'k8s-3']);
    expect(s.members.find((m) => m.node === 'w1')).toMatchObject({ role: 2, worker: true, ssh: true, answers: false, survivor: false });
    expect(s.members.find((m) => m.node === 'k8s-2')?.detail).toMatch(/^from k8s-1: nc: connect to 10\.0\.0\.12 port 19001/);
    expect(s.template).toBe('k8s-1');
    expect(s.templateWhy).toBe(`k8s-1 has the most recent log: last index ${s.survivors[0]!.lastIndex}`);
    expect(s.proposed).toBe(`- Address: 10.0.0.11:19001\n  ID: ${s.survivors[0]!.info.id}\n  Role: 0\n`);
    expect(s.binding).toBe(sha256(s.proposed));
    const text = describeSurvey(s);
    expect(text).toContain('*Workers listed as spare* (no data, no dqlite; left out of the new cluster.yaml, not removed): w1 10.0.0.14:19001');
    expect(text).toMatch(/• k8s-3 10\.0\.0\.13:19001 \(ID \d+, voter\): from k8s-1: nc:/);
    expect(text).toContain('*Template:* k8s-1 — k8s-1 has the most recent log');
    expect(text).toContain('- - Address: 10.0.0.14:19001\n-   ID: ');
    expect(text).toContain(`sha256 \`${s.binding.slice(0, 16)}…\``);
    expect(mutating()).toEqual([]);

    // the same cluster read again: no drift; the survivor's log moved: named
    expect(surveyDrift(s, await rig.run((run) => surveyCluster(run, undefined)))).toEqual([]);
    rig.sim.state.node('k8s-1').raftLag = 3;
    const moved = surveyDrift(s, await rig.run((run) => surveyCluster(run, undefined)));
    rig.sim.state.node('k8s-1').raftLag = 0;
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatch(new RegExp(`^k8s-1's last index moved ${s.survivors[0]!.lastIndex} → \\d+$`));
    expect(surveyDrift(s, { ...s, survivors: [] })).toEqual(['k8s-1 no longer answers']);
  });

  it('refuses when no control-plane node answers, with each one\'s error', async () => {
    await setDown(['k8s-1', 'k8s-2', 'k8s-3']);
    try {
      const err = await rejectionOf(rig.run((run) => surveyCluster(run, undefined)), RunbookFailure);
      expect(err.message).toMatch(/^Refused: no control-plane node of rig answers over SSH with a MicroK8s datastore \(.+\)\. Nothing was run\.$/);
      // in the order the reads failed
      for (const n of ['k8s-1', 'k8s-2', 'k8s-3']) expect(err.message).toMatch(new RegExp(`(\\(|; )${n}: cannot connect to ${n} \\(127\\.0\\.0\\.1:\\d+\\): connection refused`));
      expect(rig.commands('w1')).toEqual([]);
    } finally {
      await setDown([]);
    }
  });
});

describe('recover-quorum survey: 5 control-plane nodes, the template on a tie', () => {
  const rig = useOpsRig({ nodes: controlPlanes(5, { channel: '1.28/stable' }) });

  it('with equal last indexes the surviving voter comes first (voters before stand-bys), and three survivors are voters again', async () => {
    for (const n of ['k8s-1', 'k8s-2']) await rig.sim.setDown(n, true);
    const s = await rig.run((run) => surveyCluster(run, undefined));
    expect(s.template).toBe('k8s-3');
    expect(s.templateWhy).toMatch(/^k8s-3 and k8s-4, k8s-5 share the highest last index \d+; k8s-3 comes first in cluster\.yaml \(voters first, then the listed order\)/);
    expect(s.proposed.match(/Role: 0/g)).toHaveLength(3);
    expect(s.proposed.indexOf('10.0.0.13:19001')).toBe(s.proposed.indexOf('Address: ') + 'Address: '.length);
  });
});

describe('lineDiff', () => {
  it('keeps common lines, marks removed with - and added with +', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nc\nd\n')).toBe('  a\n- b\n  c\n+ d');
    expect(lineDiff('x\n', 'x\n')).toBe('  x');
  });
});
