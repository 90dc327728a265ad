/**
 * The last step of a successful upgrade (src/ops/upgrade-report.ts): what it did not upgrade
 * (the enabled add-ons, a Calico the new revision ships newer) said in the thread, the release
 * named by the channel's track; with no node answering it still succeeds, saying so.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/chat/port.ts';
import { reportPlanStep, reportWhatTheUpgradeLeft } from '../../src/ops/upgrade-report.ts';
import { useOpsRig } from '../support/ops-rig.ts';

const NODES = ['k8s-1', 'k8s-2', 'k8s-3'];
const TITLE = 'report add-ons and the CNI';

describe('reportWhatTheUpgradeLeft after a 1.26 → 1.27 refresh', () => {
  const rig = useOpsRig({ nodes: NODES.map((name) => ({ name, channel: '1.26/stable' })) });
  /** The last run's thread message whose text starts with `prefix`, once posted. */
  const said = (prefix: string) => {
    const parent = rig.chat.parents().find((m) => m.message.text.startsWith(`job ${rig.jobId} `));
    return rig.chat.waitFor((): ChatMessage | undefined => (parent ? rig.chat.thread(parent.ts).find((m) => m.message.text.startsWith(prefix))?.message : undefined));
  };

  beforeAll(async () => {
    await rig.run(async (run) => {
      for (const n of NODES) {
        await run.node(n).refresh('1.27/stable');
        await run.node(n === 'k8s-1' ? 'k8s-2' : 'k8s-1').waitNodeReady(n, 20);
      }
    });
  });

  it('says Calico is behind what 1.27 ships and which add-ons were not upgraded, as its own step', async () => {
    await rig.run((run) => reportWhatTheUpgradeLeft(run, '1.27/stable'));
    const headline = 'Calico v3.23.5 is running; 1.27 ships v3.25.0 — `upgrade-cni` to move. add-ons not upgraded: core/dns 1.10.1, core/ha-cluster 0.1.0';
    expect(rig.doneSteps()).toEqual([TITLE]);
    expect(await rig.line(`✅ ${TITLE}`)).toMatch(`✅ ${TITLE} — ${headline} · `);
    const msg = await said('After the upgrade to 1.27/stable:');
    expect(msg.text).toBe(`After the upgrade to 1.27/stable: ${headline}`);
    expect(msg.body?.split('\n')[0]).toBe(`*What the upgrade to 1.27/stable did not upgrade:* ${headline}`);
    expect(msg.body).toContain('*To do:* `upgrade-cni --dry-run` shows the new manifest (v3.25.0');
    // read-only
    expect(rig.commands().filter((c) => /^(cp |mv |sftp put|microk8s (enable|disable)|microk8s kubectl apply)/.test(c))).toEqual([]);
  });

  it('a latest/ channel names no release', async () => {
    await rig.run((run) => reportWhatTheUpgradeLeft(run, 'latest/edge'));
    const msg = await said('After the upgrade to latest/edge:');
    expect(msg.text).toMatch(/^After the upgrade to latest\/edge: Calico v3\.23\.5 is running; this release ships v3\.25\.0 — `upgrade-cni` to move\./);
  });

  it('never fails the job: with no node answering it says what it could not read', async () => {
    rig.sim.inject({ node: '*', match: /^microk8s status|^cat |^test -e /, kind: 'fail', exitCode: 1, stderr: 'Connection refused\n' });
    await rig.run((run) => reportWhatTheUpgradeLeft(run, '1.27/stable'));
    expect(rig.doneSteps()).toEqual([TITLE]);
    const msg = await said('After the upgrade to 1.27/stable:');
    expect(msg.text).toBe('After the upgrade to 1.27/stable: CNI: not read');
    expect(msg.body).toMatch(/\*Add-ons\*: k8s-3: /);
  });

  it('plans the step under the same title, with the reads it makes', () => {
    expect(reportPlanStep()).toEqual({
      title: TITLE,
      commands: ['microk8s status --format yaml', 'microk8s kubectl get ds calico-node -n kube-system -o json', '(the add-ons and the CNI the upgrade did not upgrade)'],
    });
  });
});
