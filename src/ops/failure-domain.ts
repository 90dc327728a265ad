/**
 * One node's turn in `failure-domain` (jobs/failure-domain.ts) — the seed's 设置故障域: its quorum
 * check, `failure-domain=<n>` written to args/ha-conf, `microk8s stop; microk8s start`, and the
 * wait until it is Ready in the new domain (a failure asks: restart again, or stop here). And the
 * prose and re-check around them.
 */
import { errorText, type RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { BACKEND_FAILURE_DOMAIN, HA_CONF, haConfFailureDomain, parseBackendFailureDomain, setHaConfFailureDomain } from '../microk8s/args-files.ts';
import { pickControlPlane } from './controller.ts';
import { describeChanges, inventoryNotes, quorumCheck, readDomains, titles, type FailureDomainPreflight, type NodeDomain } from './failure-domains.ts';
import { waitForLeaseRenewal } from './heartbeat.ts';
import { sentence } from './prose.ts';

/** Step 0: the preflight, as a step. */
export function preflightStep(run: RunContext, fn: () => Promise<FailureDomainPreflight>): Promise<FailureDomainPreflight> {
  return run.step(titles.preflight, fn, {
    describe: (p) => `${describeChanges(p).join('; ')}; ${p.voters} voter(s)${p.warnings.length ? `; ⚠️ ${p.warnings.join(' ')}` : ''}`,
  });
}

/** The approval: restarting a control-plane node takes its API server and dqlite member down, so it is always asked. */
export function restartApproval(run: RunContext, pre: FailureDomainPreflight, todo: readonly NodeDomain[]) {
  return {
    always: true,
    title: `Set failure domains and restart MicroK8s on ${todo.map((n) => n.node).join(', ')}`,
    what: `${pre.warnings.length ? `⚠️ ${pre.warnings.join(' ')}\n` : ''}${describeChanges(pre).join('\n')}\nOne node at a time: the next one stops only when the previous is Ready again and the quorum is intact.`,
    why: `Each node is stopped and started (microk8s stop; microk8s start): its API server, kubelet and dqlite member are down until it is back.`,
    nodes: todo.map((n) => n.node),
    recheck: () => domainsUnchanged(run, pre),
  };
}

/** The re-check after the approval: ha-conf and dqlite say what the preflight read. */
export async function domainsUnchanged(run: RunContext, pre: FailureDomainPreflight): Promise<true> {
  const changed: string[] = [];
  for (const n of pre.nodes) {
    const now = await readDomains(run, n.node);
    if (now.configured !== n.configured || now.applied !== n.applied) {
      changed.push(`${n.node} now has ha-conf ${now.configured ?? 'unset'} and dqlite ${now.applied ?? '?'} (was ${n.configured ?? 'unset'} and ${n.applied ?? '?'})`);
    }
  }
  if (changed.length > 0) throw new RunbookFailure(`The nodes changed since the plan was approved: ${changed.join('; ')}. Nothing was done; request the change again.`);
  return true;
}

/** One node's turn: quorum check, ha-conf, stop/start, Ready in the new domain. `done`: the nodes before it. */
export async function setDomainOn(run: RunContext, pre: FailureDomainPreflight, target: NodeDomain, done: readonly string[]): Promise<void> {
  await run.step(titles.quorum(target.node), () => quorumCheck(run, target.node, pre, [...done]), {
    describe: (q) => `${target.node} is ${q.role === 'unknown' ? 'a member of unknown role' : `a ${q.role}`}; ${q.voters} voter(s); the other control-plane nodes are Ready (kubectl via ${q.controller})`,
  });
  await run.step(titles.write(target.node, target.domain), () => writeHaConf(run, target, pre.stamp), {
    describe: (w) => (w.changed ? `written${w.backup ? `; the old file is kept as ${w.backup}` : ''}` : `ha-conf already says failure-domain=${target.domain}`),
  });
  await restartUntilReady(run, target, [...done]);
}

/** What the job left when it did not succeed: each node's ha-conf, dqlite's domain, Ready. */
export async function describeDomains(run: RunContext, nodes: readonly string[]): Promise<string> {
  const controller = await pickControlPlane(run).catch(() => undefined);
  const lines: string[] = [];
  for (const node of nodes) {
    let text: string;
    try {
      const d = await readDomains(run, node);
      text = `ha-conf failure-domain=${d.configured ?? 'unset'}, dqlite uses ${d.applied ?? '?'}`;
    } catch (err) {
      text = `unreadable (${errorText(err)})`;
    }
    const kube = controller?.nodes.find((n) => n.name === node);
    lines.push(`${node}: ${text}, ${kube ? (kube.ready ? 'Ready' : 'NotReady') : 'not seen by kubectl'}`);
  }
  return lines.join('; ');
}

export function notesText(run: RunContext, pre: FailureDomainPreflight): string {
  const notes = inventoryNotes(run.cluster, pre.nodes);
  return notes.length > 0 ? `\nUpdate the inventory so it matches the nodes: ${notes.join('; ')}.` : '';
}

/** ha-conf with failure-domain=<n>: read, skip if already so, back up, write (atomic rename), read back. */
export async function writeHaConf(run: RunContext, target: NodeDomain, stamp: string): Promise<{ changed: boolean; backup: string | null }> {
  const ops = run.node(target.node);
  const text = await ops.readFile(HA_CONF);
  if (text !== undefined && haConfFailureDomain(text) === target.domain) return { changed: false, backup: null };
  const backup = text === undefined ? null : await ops.backupFile(HA_CONF, stamp);
  await ops.writeFile(HA_CONF, setHaConfFailureDomain(text ?? '', target.domain), run.jobId, text !== undefined);
  return { changed: true, backup };
}

/**
 * `microk8s stop` then `microk8s start`, and wait until the node is Ready, its kubelet heartbeats
 * again and dqlite uses the new domain. A failure asks: restart again, or stop here.
 */
export async function restartUntilReady(run: RunContext, target: NodeDomain, done: string[]): Promise<void> {
  const { node, domain } = target;
  const timeoutMs = run.cluster.policy.readyTimeout;
  for (let attempt = 1; ; attempt++) {
    const suffix = attempt === 1 ? '' : ` (attempt ${attempt})`;
    const restarted = await run.attempt(async () => {
      await run.step(`${titles.restart(node)}${suffix}`, async () => {
        const ops = run.node(node);
        for (const sub of ['stop', 'start'] as const) {
          const r = await ops.membership.stopOrStart(sub, timeoutMs + 60_000);
          if (r.worker !== undefined) throw new RunbookFailure(`${node} answered as a worker node ("${r.worker}"); nothing was restarted. Check the inventory.`);
        }
        return 'stopped and started';
      }, { describe: (r) => r });
      await run.step(`${titles.wait(node, domain)}${suffix}`, async () => {
        const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
        await run.node(node).status({ waitReadySeconds: seconds });
        const controller = await pickControlPlane(run, { avoid: node });
        const lease = await waitForLeaseRenewal(run, controller.name, node, timeoutMs);
        await controller.ops.waitNodeReady(node, seconds);
        const backend = await run.node(node).readFile(BACKEND_FAILURE_DOMAIN);
        const applied = backend === undefined ? undefined : parseBackendFailureDomain(backend);
        if (applied !== undefined && applied !== domain) {
          throw new RunbookFailure(`${node} is Ready, but dqlite on it still uses failure domain ${applied} (${BACKEND_FAILURE_DOMAIN}) although ha-conf says ${domain}.`);
        }
        return { controller: controller.name, heartbeat: new Date(lease.renewed).toISOString(), applied: applied ?? null };
      }, { describe: (r) => `Ready; kubelet heartbeat at ${r.heartbeat} (seen from ${r.controller}); dqlite uses failure domain ${r.applied ?? domain}` });
    });
    if (restarted.ok) return;
    const err = restarted.error;
    const pick = await run.choice({
      title: `${node} is not back${suffix}`,
      what: `${sentence(errorText(err))}\n${node}'s ha-conf says failure-domain=${domain}; MicroK8s on it may still be stopped or starting. *Restart again* runs \`microk8s stop\` and \`microk8s start\` on ${node} again and waits; *Stop here* leaves it as it is.`,
      nodes: [node],
      options: [
        { id: 'retry', label: 'Restart again', style: 'primary' },
        { id: 'stop', label: 'Stop here' },
      ],
      onExpiry: 'stop',
    });
    if (pick !== 'retry') {
      throw new RunbookFailure(
        `Stopped at ${node}: ${sentence(errorText(err))} ${done.length > 0 ? `Done before it: ${done.join(', ')}. ` : ''}${node}'s ha-conf says failure-domain=${domain}; check it with \`sudo microk8s status --wait-ready\` (run \`sudo microk8s start\` if it is stopped), then request the same change again: nodes already done are skipped.`,
      );
    }
  }
}
