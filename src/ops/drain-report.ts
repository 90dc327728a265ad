/**
 * Where the pods a drain evicted went: each evicted pod next to its replacement
 * (same controller, new name — or the same name for a StatefulSet pod) and the
 * node it now runs on, for the job's thread.
 */
import { errorText } from '../engine/context.ts';
import type { KubePod } from '../microk8s/types.ts';

export interface MovedPod {
  /** `namespace/name` of the evicted pod (or `name` when kubectl printed no namespace). */
  evicted: string;
  /** `namespace/name` of its replacement, when one exists. */
  replacement?: string;
  /** Node the replacement runs on; undefined when it is not scheduled yet. */
  node?: string;
  phase?: string;
}

/** `nginx-7848d4b86f-x2b9q` → `nginx-7848d4b86f`; `web-0` → `web`. */
function stem(name: string): string {
  const i = name.lastIndexOf('-');
  return i > 0 ? name.slice(0, i) : name;
}

function split(ref: string): { namespace?: string; name: string } {
  const i = ref.indexOf('/');
  return i < 0 ? { name: ref } : { namespace: ref.slice(0, i), name: ref.slice(i + 1) };
}

/**
 * Pairs every evicted pod with a pod that appeared after the drain: the same
 * namespace/name (StatefulSet), else a new pod of the same controller (name
 * stem) that was not there before. Each replacement is used once.
 */
export function movedPods(evicted: string[], before: KubePod[], after: KubePod[], drained: string): MovedPod[] {
  const existed = new Set(before.map((p) => `${p.namespace}/${p.name}`));
  const used = new Set<string>();
  const out: MovedPod[] = [];
  for (const ref of evicted) {
    const { namespace, name } = split(ref);
    const ns = namespace ?? before.find((p) => p.name === name)?.namespace;
    const candidates = after.filter((p) => (ns === undefined || p.namespace === ns) && p.node !== drained && !used.has(`${p.namespace}/${p.name}`));
    const same = candidates.find((p) => p.name === name);
    const fresh = same ?? candidates.find((p) => stem(p.name) === stem(name) && p.name !== name && !existed.has(`${p.namespace}/${p.name}`));
    if (!fresh) {
      out.push({ evicted: ref });
      continue;
    }
    const key = `${fresh.namespace}/${fresh.name}`;
    used.add(key);
    out.push({ evicted: ref, replacement: key, ...(fresh.node ? { node: fresh.node } : {}), phase: fresh.phase });
  }
  return out;
}

/** A code block for Slack: `default/nginx-…-x2b9q  →  k8s-1  (default/nginx-…-9zqkd, Running)`, at most `max` lines. */
export function renderMoved(moved: MovedPod[], max = 40): string {
  if (moved.length === 0) return 'no pods needed to move';
  const rows = moved.slice(0, max).map((m) => {
    const where = m.replacement ? `${m.node ?? 'not scheduled yet'}  (${m.replacement}, ${m.phase ?? '?'})` : 'no replacement seen yet (not managed by a controller, or still being created)';
    return [m.evicted, where];
  });
  const width = Math.max(...rows.map((r) => (r[0] ?? '').length));
  const lines = rows.map((r) => `${(r[0] ?? '').padEnd(width)}  →  ${r[1] ?? ''}`);
  if (moved.length > max) lines.push(`… and ${moved.length - max} more`);
  return `\`\`\`\n${lines.join('\n')}\n\`\`\``;
}

/**
 * Every pod of the cluster, for this report only: a list that cannot be read (on a large cluster,
 * more than one command's output may carry) costs the report, never the drain.
 */
export async function podsForReport(controller: { pods(): Promise<KubePod[]> }): Promise<KubePod[] | { unread: string }> {
  try {
    return await controller.pods();
  } catch (err) {
    return { unread: errorText(err) };
  }
}

/** The report of a drain, or why it is left out (a list of the cluster's pods could not be read). */
export function renderDrainMoves(evicted: string[], before: KubePod[] | { unread: string }, after: KubePod[] | { unread: string }, drained: string): string {
  if (!Array.isArray(before)) return notShown(before.unread);
  if (!Array.isArray(after)) return notShown(after.unread);
  return renderMoved(movedPods(evicted, before, after, drained));
}

function notShown(why: string): string {
  return `(where they went is not shown: the cluster's pods could not be listed: ${why})`;
}
