/**
 * The step that records a node (src/ops/node-records.ts): what a job records, what it keeps of
 * the last record, the drift it reports, and the one-line states a failed job leaves. The store
 * itself is test/store/node-records.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { describeRecord, describeSnapStates, recordNodeState } from '../../src/ops/node-records.ts';
import { readNodeRecord } from '../../src/store/node-records.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const OLDER = { revision: '2000', version: 'v1.21.0', channel: '1.21/stable' };

describe('recordNodeState', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }] });

  it('records what snapd says now, the job and the verb, and the state before the job changed it', async () => {
    const r = await rig.run((run) => recordNodeState(run, 'k8s-1', { previous: OLDER }));
    expect(r).toMatchObject({ version: 'v1.22.3', revision: '2551', channel: '1.22/stable', held: false, previous: OLDER, byJob: rig.jobId, verb: 'probe', drift: [] });
    expect(rig.commands('k8s-1')).toEqual(['snap list microk8s']);
    const { drift, ...stored } = r;
    expect(drift).toEqual([]);
    expect(await readNodeRecord(rig.redis, rig.cluster.name, 'k8s-1')).toEqual(stored);
  });

  it('keeps the last record\'s previous state while the revision is unchanged, and drops it when told there is none', async () => {
    expect((await rig.run((run) => recordNodeState(run, 'k8s-1'))).previous).toEqual(OLDER);
    expect((await rig.run((run) => recordNodeState(run, 'k8s-1', { previous: { revision: '2551', version: 'v1.22.3', channel: '1.22/stable' } }))).previous).toEqual(OLDER);
    expect((await rig.run((run) => recordNodeState(run, 'k8s-1', { previous: null }))).previous).toBeUndefined();
  });

  it('a hold-only job records the hold and keeps the recorded revision, so a refresh made outside the bot stays drift', async () => {
    await rig.run(async (run) => {
      await run.node('k8s-1').refresh('1.23/stable'); // "outside the bot": no record of it
      await run.node('k8s-1').hold('forever');
    });
    const r = await rig.run((run) => recordNodeState(run, 'k8s-1', { scope: 'hold' }));
    expect(r).toMatchObject({ revision: '2551', channel: '1.22/stable', held: true, holdUntil: 'forever' });
    expect(r.drift).toEqual(['revision 2551 → 2948 (v1.23.3)', 'channel 1.22/stable → 1.23/stable']);
    expect(rig.commands('k8s-1')).toEqual(['snap list microk8s', 'snap info --abs-time microk8s']);
    expect(describeRecord(r)).toBe('rev 2551 (v1.22.3, 1.22/stable), held forever');
  });

  it('describes each node\'s snap state for a failed job, and one it cannot read as such', async () => {
    rig.sim.inject({ node: 'k8s-2', match: 'snap list', kind: 'fail', exitCode: 1, stderr: 'error: cannot communicate with server: connection refused' });
    const text = await rig.run((run) => describeSnapStates(run, ['k8s-1', 'k8s-2']));
    expect(text).toMatch(/^k8s-1: rev 2948 \(v1\.23\.3, 1\.23\/stable\), held forever; k8s-2: unreadable \(`snap list microk8s` failed on k8s-2 \(exit code 1\):.*cannot communicate with server.*\)$/s);
  });
});
