/**
 * Quorum recovery, the reading half (the seed's 从丢失的仲裁中恢复): which control-plane nodes
 * survive, what each one's dqlite backend says (info.yaml, cluster.yaml, last raft index from the
 * file names), which old members are lost (no SSH and nothing on :19001 from any survivor — the
 * k8s-snap gate), whether quorum is really lost, the template node, and the proposed cluster.yaml.
 */
import { sha256 } from '../util/sha256.ts';
import type { DryRunContext } from '../engine/runbook.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import { DQLITE_PORT, renderClusterYaml, roleName, type BackendListing, type DqliteMember, type KeyOrder } from '../microk8s/dqlite-files.ts';

export type SurvivorFacts = {
  node: string;
  info: DqliteMember;
  infoText: string;
  members: DqliteMember[];
  clusterText: string;
  keyOrder: KeyOrder;
  lastIndex: number;
  /** e.g. `2 closed segments, 1 snapshot (+meta), 3 open-*, metadata1/2` */
  files: string;
};

export type MemberCheck = {
  id: string;
  address: string;
  role: number;
  /** The inventory node at that address (by the survivors' `getent hosts`), when known. */
  node: string | null;
  survivor: boolean;
  /**
   * A worker the file lists as spare (Role 2, as `join --worker` leaves it): it holds no data and
   * runs no dqlite, so it is neither a survivor nor lost — it is left out of the new cluster.yaml.
   */
  worker: boolean;
  /** Something answered on address:19001 from a survivor (or it is a survivor, running). */
  answers: boolean;
  /** Its inventory node answered over SSH. */
  ssh: boolean;
  detail: string;
};

export type Survey = {
  survivors: SurvivorFacts[];
  members: MemberCheck[];
  template: string;
  templateWhy: string;
  proposed: string;
  /** sha256 of `proposed`: the destructive gate is bound to it. */
  binding: string;
  lost: string[];
};

const host = (address: string) => address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');

function describeFiles(l: BackendListing): string {
  const parts = [`${l.closed.length} closed segment(s)`, `${l.snapshots.length} snapshot(s)${l.snapshots.some((s) => s.hasMeta) ? ' (+meta)' : ''}`, `${l.open.length} open-*`];
  if (l.metadata.length > 0) parts.push(l.metadata.join('/'));
  return parts.join(', ');
}

/** One survivor's backend, read with `sudo ls` and `sudo cat` (nothing changes). */
export async function readSurvivor(run: DryRunContext, node: string): Promise<SurvivorFacts> {
  const b = run.node(node).backend();
  const [listing, info, cluster] = await Promise.all([b.list(), b.info(), b.clusterYaml()]);
  return {
    node, info: info.info, infoText: info.text, members: cluster.cluster.members, clusterText: cluster.text, keyOrder: cluster.cluster.keyOrder, lastIndex: listing.lastIndex, files: describeFiles(listing),
  };
}

/** The control-plane nodes that answer over SSH and have a datastore (or exactly the ones named). */
async function findSurvivors(run: DryRunContext, named: readonly string[] | undefined): Promise<{ survivors: SurvivorFacts[]; silent: Map<string, string> }> {
  const candidates = named ?? run.cluster.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name);
  const silent = new Map<string, string>();
  const found = await Promise.all(
    candidates.map(async (name) => {
      try {
        return await readSurvivor(run, name);
      } catch (err) {
        silent.set(name, errorText(err));
        return undefined;
      }
    }),
  );
  if (named) {
    const missing = named.filter((n) => silent.has(n));
    if (missing.length > 0) {
      throw new RunbookFailure(`Refused: --survivors names ${missing.map((n) => `${n} (${silent.get(n)})`).join('; ')} — every survivor must answer over SSH and have its datastore. Nothing was run.`);
    }
  }
  const survivors = found.filter((s): s is SurvivorFacts => s !== undefined);
  if (survivors.length === 0) {
    throw new RunbookFailure(`Refused: no control-plane node of ${run.cluster.name} answers over SSH with a MicroK8s datastore (${[...silent].map(([n, e]) => `${n}: ${e}`).join('; ')}). Nothing was run.`);
  }
  return { survivors, silent };
}

/** Inventory names → addresses: the inventory's hosts, then what a survivor resolves (`getent hosts`). */
async function resolveNames(run: DryRunContext, via: string, names: readonly string[]): Promise<Map<string, string>> {
  const out = await run.node(via).backend().resolve(names);
  for (const n of run.cluster.nodes) if (names.includes(n.name) && !out.has(n.host)) out.set(n.host, n.name);
  return out;
}

/** Survivors first by last index, ties by their order in cluster.yaml (voters before stand-bys). */
function ranked(survivors: readonly SurvivorFacts[], order: readonly DqliteMember[]): SurvivorFacts[] {
  const pos = (s: SurvivorFacts) => {
    const i = order.findIndex((m) => m.id === s.info.id);
    const m = order[i];
    return (m && m.role === 0 ? 0 : 1000) + (i < 0 ? 999 : i);
  };
  return survivors.toSorted((a, b) => b.lastIndex - a.lastIndex || pos(a) - pos(b));
}

/** Reads everything the plan depends on; refuses (nothing run) when quorum is not lost or a lost member still answers. */
export async function surveyCluster(run: DryRunContext, named: readonly string[] | undefined): Promise<Survey> {
  const { survivors, silent } = await findSurvivors(run, named);
  const newest = survivors.toSorted((a, b) => b.lastIndex - a.lastIndex)[0]!;
  const byId = new Map<string, DqliteMember>();
  for (const s of [newest, ...survivors]) for (const m of s.members) if (!byId.has(m.id)) byId.set(m.id, m);
  const survivorIds = new Set(survivors.map((s) => s.info.id));
  const others = [...byId.values()].filter((m) => !survivorIds.has(m.id));
  const inventoryOthers = run.cluster.nodes.filter((n) => !survivors.some((s) => s.node === n.name)).map((n) => n.name);
  const names = await resolveNames(run, newest.node, inventoryOthers);

  const members: MemberCheck[] = [];
  for (const s of survivors) {
    members.push({ id: s.info.id, address: s.info.address, role: byId.get(s.info.id)?.role ?? s.info.role, node: s.node, survivor: true, worker: false, answers: true, ssh: true, detail: 'survivor' });
  }
  for (const m of others) {
    const node = names.get(host(m.address)) ?? null;
    const worker = m.role === 2 && node !== null && run.cluster.nodes.find((n) => n.name === node)?.role === 'worker';
    const ssh = node !== null && !silent.has(node) && (await run.node(node).backend().answers());
    const checks = await Promise.all(survivors.map(async (s) => ({ s: s.node, r: await run.node(s.node).membership.canReach(host(m.address), DQLITE_PORT) })));
    // nc missing on a survivor: silence cannot be shown, so it counts as answering
    const open = checks.find((c) => c.r.ok || !c.r.checked);
    members.push({
      id: m.id, address: m.address, role: m.role, node, survivor: false, worker, answers: open !== undefined, ssh,
      detail: open ? `answers on :${DQLITE_PORT} from ${open.s}` : checks.map((c) => `from ${c.s}: ${plain(c.r.detail)}`).join('; '),
    });
  }
  refuseUnlessLost(run, members);

  const order = newest.members;
  const [template, ...rest] = ranked(survivors, order);
  const tie = rest.filter((r) => r.lastIndex === template!.lastIndex).map((r) => r.node);
  const templateWhy = tie.length > 0
    ? `${template!.node} and ${tie.join(', ')} share the highest last index ${template!.lastIndex}; ${template!.node} comes first in cluster.yaml (voters first, then the listed order), as dqlite's leader candidates do`
    : `${template!.node} has the most recent log: last index ${template!.lastIndex}${rest.length > 0 ? ` (${rest.map((r) => `${r.node} ${r.lastIndex}`).join(', ')})` : ''}`;
  const newMembers: DqliteMember[] = [template!, ...rest].map((s, i) => ({ id: s.info.id, address: s.info.address, role: i < 3 ? 0 : 1 }));
  const proposed = renderClusterYaml(newMembers, template!.keyOrder);
  return {
    survivors, members, template: template!.node, templateWhy, proposed, binding: sha256(proposed),
    lost: members.filter((m) => !m.survivor && !m.worker).map((m) => m.node ?? m.address),
  };
}

function refuseUnlessLost(run: DryRunContext, members: readonly MemberCheck[]): void {
  const label = (m: MemberCheck) => `${m.node ?? '?'} (${m.address})`;
  // a worker listed as spare may answer SSH (it is a worker); its dqlite port must still be silent
  const alive = members.filter((m) => !m.survivor && (m.answers || (m.ssh && !m.worker)));
  if (alive.length > 0) {
    throw new RunbookFailure(
      `Refused: ${alive.map((m) => `${label(m)} ${m.ssh ? 'answers over SSH' : m.detail}`).join('; ')} — a lost member must not answer at all before the datastore is reconfigured (it would come back with the old membership). Stop it for good, or include it with --survivors. Nothing was run.`,
    );
  }
  const voters = members.filter((m) => m.role === 0);
  const answering = voters.filter((m) => m.answers);
  if (answering.length * 2 > voters.length) {
    const down = voters.filter((m) => !m.answers);
    throw new RunbookFailure(
      `Refused: quorum is not lost — ${answering.length} of ${voters.length} datastore voters answer (${answering.map(label).join(', ')}). ${
        down.length === 1 ? `For the one dead voter use \`remove-node ${down[0]!.node ?? down[0]!.address} --force\` instead.` : down.length > 1 ? `Remove dead nodes one at a time with \`remove-node <node> --force\`.` : 'Nothing is lost.'
      } Nothing was run.`,
    );
  }
  if (run.cluster.nodes.length === 0) throw new RunbookFailure('Refused: the inventory has no nodes.');
}

/** Node output shown in a chat message: no markup (`<!channel>`, links) survives. */
function plain(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export { sha256 };

/** What changed between the plan's survey and now (empty: nothing; the destructive gate may open). */
export function surveyDrift(then: Survey, now: Survey): string[] {
  const out: string[] = [];
  if (now.binding !== then.binding) out.push(`the proposed cluster.yaml changed (sha256 ${then.binding.slice(0, 12)} → ${now.binding.slice(0, 12)})`);
  for (const s of then.survivors) {
    const n = now.survivors.find((x) => x.node === s.node);
    if (!n) out.push(`${s.node} no longer answers`);
    else {
      if (n.infoText !== s.infoText) out.push(`${s.node}'s info.yaml changed`);
      if (n.lastIndex !== s.lastIndex) out.push(`${s.node}'s last index moved ${s.lastIndex} → ${n.lastIndex}`);
    }
  }
  return out;
}

/** A line diff (longest common subsequence; the files are a few lines). */
export function lineDiff(before: string, after: string): string {
  const a = before.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  const b = after.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => Array.from({ length: b.length + 1 }, () => 0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out.join('\n');
}

/** The survivors, lost members and template as text for the dry run and the gates. */
export function describeSurvey(s: Survey): string {
  const lines: string[] = ['*Survivors* (from info.yaml, cluster.yaml and the raft file names):'];
  for (const x of s.survivors) {
    lines.push(`• ${x.node}: ID ${x.info.id}, ${x.info.address}, ${roleName(x.info.role)}; last index ${x.lastIndex}; ${x.files}; cluster.yaml lists ${x.members.map((m) => `${m.address} ${roleName(m.role)}`).join(', ')}`);
  }
  lines.push('*Lost* (no SSH, nothing on :19001 from any survivor) — they must never be started again with their old data; reinstall before `add-node`:');
  for (const m of s.members.filter((x) => !x.survivor && !x.worker)) lines.push(`• ${m.node ?? 'unknown node'} ${m.address} (ID ${m.id}, ${roleName(m.role)}): ${m.detail}`);
  const workers = s.members.filter((x) => x.worker);
  if (workers.length > 0) lines.push(`*Workers listed as spare* (no data, no dqlite; left out of the new cluster.yaml, not removed): ${workers.map((m) => `${m.node} ${m.address}`).join(', ')}`);
  const template = s.survivors.find((x) => x.node === s.template)!;
  lines.push(`*Template:* ${s.template} — ${s.templateWhy}.`);
  // the current file as parsed and written back (its own key order): no comment or markup from the node survives
  const current = renderClusterYaml(template.members, template.keyOrder);
  lines.push(`*Proposed cluster.yaml* (diff against ${s.template}'s current one; sha256 \`${s.binding.slice(0, 16)}…\`):\n\`\`\`\n${lineDiff(current, s.proposed)}\n\`\`\``);
  return lines.join('\n');
}
