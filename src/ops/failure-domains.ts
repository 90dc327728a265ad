/**
 * Failure domains (the seed's 设置故障域): `failure-domain=<n>` in `args/ha-conf`, applied by
 * restarting MicroK8s on the node (`microk8s stop; microk8s start`), after which kubelite copies
 * it to the dqlite backend's `failure-domain` file and k8s-dqlite uses it.
 */
import { excerpt } from '../util/excerpt.ts';
import { NODE_NAME, type ClusterConfig } from '../config/inventory.ts';
import type { RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { BACKEND_FAILURE_DOMAIN, HA_CONF, MAX_FAILURE_DOMAIN, haConfFailureDomain, parseBackendFailureDomain, parseFailureDomain } from '../microk8s/args-files.ts';
import type { HaMember, KubeNode } from '../microk8s/types.ts';
import { pickControlPlane } from './controller.ts';

export interface Assignment {
  node: string;
  domain: number;
}

const MAX_PLAN = 20;

/** What a bad failure domain is told (the argument's schema, `FailureDomain` in src/commands/validators.ts, says it too). */
export function domainMessage(text: string): string {
  return `'${excerpt(text)}' is not a failure domain: use a whole number from 0 to ${MAX_FAILURE_DOMAIN}, such as 1 or 42`;
}

/** `k8s-1=1,k8s-2=2`: the assignments, or a message saying what is wrong (checked at parse time by `FailurePlan`). */
export function parsePlan(text: string): Assignment[] | string {
  const parts = text.split(',');
  if (parts.length > MAX_PLAN) return `a plan takes at most ${MAX_PLAN} nodes`;
  const out: Assignment[] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) return `'${excerpt(part)}' is not node=domain; write the plan as k8s-1=1,k8s-2=2,k8s-3=3`;
    const node = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!NODE_NAME.test(node)) return `'${excerpt(node)}' is not a node name: use lowercase letters, digits and '-', such as k8s-1`;
    const domain = parseFailureDomain(value);
    if (domain === undefined) return `${node}: ${domainMessage(value)}`;
    if (out.some((a) => a.node === node)) return `${node} is in the plan twice`;
    out.push({ node, domain });
  }
  return out;
}

export interface FailureDomainArgs {
  node?: string | undefined;
  domain?: number | undefined;
  plan?: string | undefined;
}

/** The nodes and domains a request asks for, in order. */
export function assignments(args: FailureDomainArgs): Assignment[] {
  if (args.plan !== undefined) {
    const parsed = parsePlan(args.plan);
    return typeof parsed === 'string' ? [] : parsed;
  }
  return args.node !== undefined && args.domain !== undefined ? [{ node: args.node, domain: args.domain }] : [];
}

/** Inventory checks: known nodes, control-plane only. */
export function validateAssignments(cluster: ClusterConfig, wanted: Assignment[]): string | undefined {
  for (const { node } of wanted) {
    const cfg = cluster.nodes.find((n) => n.name === node);
    if (!cfg) return `unknown node '${excerpt(node)}' in cluster ${cluster.name}; its nodes are ${cluster.nodes.map((n) => n.name).join(', ')}`;
    if (cfg.role !== 'control-plane') {
      return `${node} is a worker node: a failure domain tells dqlite where its datastore members run, and workers run no datastore member. Set it on control-plane nodes only.`;
    }
  }
  return undefined;
}

// ---- plan ---------------------------------------------------------------------------------

export const titles = {
  preflight: 'preflight: read the failure domains and the quorum',
  quorum: (node: string) => `check quorum before restarting ${node}`,
  write: (node: string, n: number) => `write failure-domain=${n} to ${node}'s ha-conf`,
  restart: (node: string) => `restart MicroK8s on ${node}`,
  wait: (node: string, n: number) => `wait for ${node} to be Ready in failure domain ${n}`,
};

export function failureDomainPlan(wanted: Assignment[], cluster: ClusterConfig): PlanStep[] {
  const cps = cluster.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name);
  const other = (node: string) => cps.find((n) => n !== node) ?? node;
  const steps: PlanStep[] = [
    {
      title: titles.preflight,
      commands: ['microk8s kubectl get nodes -o json', 'microk8s status --format yaml', ...wanted.flatMap(({ node }) => [`(${node}) sudo cat ${HA_CONF}`, `(${node}) sudo cat ${BACKEND_FAILURE_DOMAIN}`])],
    },
  ];
  for (const { node, domain } of wanted) {
    steps.push(
      { title: titles.quorum(node), node: other(node), commands: ['microk8s kubectl get nodes -o json', 'microk8s status --format yaml'] },
      {
        title: titles.write(node, domain),
        node,
        commands: [
          `sudo cat ${HA_CONF}`,
          `sudo cp -p ${HA_CONF} ${HA_CONF}.mk8s-<time>`,
          '(SFTP) put ~/.mk8s-ops-<job>-<random>',
          `sudo cp -p ${HA_CONF} ${HA_CONF}.mk8s-next`,
          `sudo cp ~/.mk8s-ops-<job>-<random> ${HA_CONF}.mk8s-next`,
          `sudo mv -f ${HA_CONF}.mk8s-next ${HA_CONF}`,
        ],
      },
      { title: titles.restart(node), node, commands: ['sudo microk8s stop', 'sudo microk8s start'] },
      {
        title: titles.wait(node, domain),
        node,
        commands: [
          'sudo microk8s status --wait-ready --timeout <readyTimeout>',
          `(${other(node)}) microk8s kubectl get lease ${node} -n kube-node-lease -o json (until renewed)`,
          `(${other(node)}) microk8s kubectl wait --for=condition=Ready node/${node} --timeout=<readyTimeout>`,
          `sudo cat ${BACKEND_FAILURE_DOMAIN}`,
        ],
      },
    );
  }
  return steps;
}

// ---- reading the nodes --------------------------------------------------------------------

export type NodeDomain = {
  node: string;
  domain: number;
  /** What ha-conf says now (null: no failure-domain line, or no file). */
  configured: number | null;
  /** What dqlite uses (the backend's failure-domain file; null: unreadable). */
  applied: number | null;
  /** dqlite role, from `microk8s status` (unknown when the address could not be matched). */
  role: 'voter' | 'standby' | 'spare' | 'unknown';
  /** skip: already so; restart: ha-conf is right but not applied; write: both. */
  action: 'skip' | 'restart' | 'write';
};

export type FailureDomainPreflight = {
  controller: string;
  /** For backup names: `20260701T100000Z`. */
  stamp: string;
  voters: number;
  controlPlanes: number;
  nodes: NodeDomain[];
  warnings: string[];
};

export async function readDomains(run: RunContext, node: string): Promise<{ configured: number | null; applied: number | null }> {
  const ops = run.node(node);
  const conf = await ops.readFile(HA_CONF);
  const backend = await ops.readFile(BACKEND_FAILURE_DOMAIN);
  return {
    configured: conf === undefined ? null : (haConfFailureDomain(conf) ?? null),
    applied: backend === undefined ? null : (parseBackendFailureDomain(backend) ?? null),
  };
}

/** The dqlite role of a node, matching its InternalIP against the member addresses. */
export function roleOf(members: HaMember[], nodes: KubeNode[], node: string): NodeDomain['role'] {
  const ip = nodes.find((n) => n.name === node)?.internalIp;
  if (!ip) return 'unknown';
  const m = members.find((x) => x.address === `${ip}:19001` || x.address.replace(/^\[|\](?=:\d+$)/g, '') === `${ip}:19001`);
  return m ? m.role : 'unknown';
}

function notReadyControlPlanes(run: RunContext, nodes: KubeNode[], except?: string): string[] {
  return run.cluster.nodes
    .filter((n) => n.role === 'control-plane' && n.name !== except)
    .filter((n) => !nodes.find((k) => k.name === n.name)?.ready)
    .map((n) => n.name);
}

export function actionFor(domain: number, configured: number | null, applied: number | null): NodeDomain['action'] {
  if (configured !== domain) return 'write';
  return applied === null || applied === domain ? 'skip' : 'restart';
}

/**
 * Reads every node of the plan: Ready, its dqlite role, what ha-conf says and what dqlite uses.
 * Refuses when a control-plane node is NotReady (a restart could then lose the quorum).
 */
export async function preflightFailureDomains(run: RunContext, wanted: Assignment[], stamp: string): Promise<FailureDomainPreflight> {
  const controller = await pickControlPlane(run, { avoid: wanted.length === 1 ? wanted[0]?.node : undefined });
  const notReady = notReadyControlPlanes(run, controller.nodes);
  for (const { node } of wanted) {
    if (!controller.nodes.some((k) => k.name === node)) {
      throw new RunbookFailure(`${node} is in the inventory but not in the cluster (kubectl get nodes on ${controller.name} does not list it). Nothing was changed.`);
    }
  }
  // A NotReady node of the plan may be restarted (that is often the fix), first and alone; any other
  // NotReady control-plane node means one more down could lose the quorum.
  const targets = new Set(wanted.map((w) => w.node));
  const others = notReady.filter((n) => !targets.has(n));
  const mine = notReady.filter((n) => targets.has(n));
  if (others.length > 0) {
    throw new RunbookFailure(
      `Control-plane node(s) ${others.join(', ')} are NotReady: restarting another control-plane node now could lose the dqlite quorum. Nothing was changed; bring them back first.`,
    );
  }
  if (mine.length > 1) {
    throw new RunbookFailure(`Nodes ${mine.join(', ')} of the plan are NotReady: restarting one while the other is down could lose the dqlite quorum. Nothing was changed; bring them back first.`);
  }
  const status = await controller.ops.status();
  if (!status.running) throw new RunbookFailure(`MicroK8s on ${controller.name} is not ready (${status.message ?? 'microk8s status says it is not running'}). Nothing was changed.`);
  const voters = status.members.filter((m) => m.role === 'voter').length;
  const controlPlanes = run.cluster.nodes.filter((n) => n.role === 'control-plane').length;
  const nodes: NodeDomain[] = [];
  // the NotReady node of the plan (if any) goes first, while every other node is still up
  const ordered = [...wanted.filter((w) => mine.includes(w.node)), ...wanted.filter((w) => !mine.includes(w.node))];
  for (const { node, domain } of ordered) {
    const { configured, applied } = await readDomains(run, node);
    nodes.push({ node, domain, configured, applied, role: roleOf(status.members, controller.nodes, node), action: actionFor(domain, configured, applied) });
  }
  const warnings: string[] = [];
  if (mine.length > 0) warnings.push(`${mine.join(', ')} is NotReady now; it is restarted first.`);
  if (controlPlanes === 1) warnings.push(`${wanted[0]?.node ?? 'The node'} is the only control-plane node: the cluster API is unavailable while it restarts.`);
  else if (voters < 3 && nodes.some((n) => n.action !== 'skip' && n.role !== 'standby' && n.role !== 'spare')) {
    warnings.push(`The datastore has ${voters} voter(s) (no HA): while a voter restarts the datastore has no quorum and the cluster API is unavailable.`);
  }
  return { controller: controller.name, stamp, voters, controlPlanes, nodes, warnings };
}

/**
 * Before restarting `node`: every other control-plane node is Ready and the datastore still has
 * as many voters as at the start, so taking this one down keeps a majority.
 */
export async function quorumCheck(run: RunContext, node: string, pre: FailureDomainPreflight, done: string[]): Promise<{ controller: string; role: NodeDomain['role']; voters: number }> {
  const controller = await pickControlPlane(run, { avoid: node });
  const doneText = done.length > 0 ? ` Already done: ${done.join(', ')}.` : '';
  if (controller.name === node && pre.controlPlanes > 1) {
    throw new RunbookFailure(`No other control-plane node answers kubectl, so ${node} was not restarted.${doneText}`);
  }
  const notReady = notReadyControlPlanes(run, controller.nodes, node);
  if (notReady.length > 0) {
    throw new RunbookFailure(
      `Not restarting ${node}: control-plane node(s) ${notReady.join(', ')} are NotReady, and taking ${node} down as well could lose the dqlite quorum.${doneText} Bring them back, then request the same change again (nodes already done are skipped).`,
    );
  }
  const status = await controller.ops.status();
  const voters = status.members.filter((m) => m.role === 'voter').length;
  const role = roleOf(status.members, controller.nodes, node);
  if (voters < pre.voters && role !== 'standby' && role !== 'spare') {
    throw new RunbookFailure(
      `Not restarting ${node}: the datastore has ${voters} voter(s) now, ${pre.voters} before this job started; wait until dqlite has settled (microk8s status), then request the change again.${doneText}`,
    );
  }
  return { controller: controller.name, role, voters };
}

/** "k8s-1: failure-domain 1 → 2 (voter), restart" lines for the approval. */
export function describeChanges(pre: FailureDomainPreflight): string[] {
  return pre.nodes.map((n) => {
    const now = n.configured === null ? 'no failure-domain set' : `failure-domain ${n.configured}`;
    const role = n.role === 'unknown' ? 'dqlite role unknown' : n.role;
    if (n.action === 'skip') return `${n.node}: already failure-domain ${n.domain} (${role}): skipped`;
    if (n.action === 'restart') return `${n.node}: ha-conf already says ${n.domain} but dqlite uses ${n.applied ?? '?'} (${role}): restart only`;
    return `${n.node}: ${now} → ${n.domain} (${role}): write ha-conf, restart`;
  });
}

/** What the inventory should say after the change, when it says something else. */
export function inventoryNotes(cluster: ClusterConfig, result: Assignment[]): string[] {
  const notes: string[] = [];
  for (const { node, domain } of result) {
    const recorded = cluster.nodes.find((n) => n.name === node)?.failureDomain;
    if (recorded !== domain) {
      notes.push(`${node}: the inventory ${recorded === undefined ? 'records no failureDomain' : `records failureDomain: ${recorded}`}; set \`failureDomain: ${domain}\``);
    }
  }
  return notes;
}
