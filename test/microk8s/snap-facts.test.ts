/** readSnapFacts (src/microk8s/snap-facts.ts): `snap list`, and `snap info --abs-time` only when held. */
import { describe, expect, it } from 'vitest';
import { readSnapFacts } from '../../src/microk8s/snap-facts.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('readSnapFacts', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }] });

  it('reads version, revision, channel; the hold\'s end only when held', async () => {
    expect(await rig.run((run) => readSnapFacts(run.node('k8s-1')))).toEqual({ version: 'v1.22.3', revision: '2551', channel: '1.22/stable', held: false });
    expect(rig.commands()).toEqual(['snap list microk8s']);
    await rig.run((run) => run.node('k8s-1').hold('24h'));
    const held = await rig.run((run) => readSnapFacts(run.node('k8s-1')));
    expect(held).toMatchObject({ held: true, holdUntil: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/) });
    expect(Date.parse(held.holdUntil!) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    expect(rig.commands()).toEqual(['snap list microk8s', 'snap info --abs-time microk8s']);
    await rig.run((run) => run.node('k8s-1').hold('forever'));
    expect((await rig.run((run) => readSnapFacts(run.node('k8s-1')))).holdUntil).toBe('forever');
  });
});
