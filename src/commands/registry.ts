/**
 * src/commands — the command grammar: tokenizing (tokenize.ts), parsing against one registry of
 * verbs (this file; runbook specs come from jobs/, the rest from builtin-verbs.ts and
 * ops-verbs.ts), the argument schemas whose messages go to the requester as is (validators.ts),
 * and the request errors (errors.ts). Nothing here talks to a node.
 */
import type { VerbSpec } from '../engine/runbook.ts';
import { excerpt } from '../util/excerpt.ts';

/**
 * The one registry of verbs: it drives the parser, `help`, RBAC and the queue.
 */
export interface Registry {
  /** A verb by its full name: `status`, or a two-word sub-verb such as `snap-proxy pin`. */
  get(verb: string): VerbSpec | undefined;
  /** The sub-verbs of a group word (`snap-proxy` → `snap-proxy list`, `snap-proxy pin`, …), in order; empty when it is not a group. */
  subverbs(group: string): VerbSpec[];
  /** Every verb, in the order given. */
  list(): VerbSpec[];
  /**
   * The verb a mistyped word most likely meant (edit distance ≤ 2, or a prefix), if any. A group
   * word (`snap-proxy`) is a candidate too; two words (`snap-proxy pinn`) are matched against sub-verbs.
   */
  nearest(word: string): string | undefined;
  /** Every verb: usage — summary, and an example; with a verb (or a group word), its details (flags too). */
  helpText(verb?: string): string;
}

/** One word, or two (`snap-proxy pin`): a group word and its sub-verb. */
const VERB_NAME = /^[a-z][a-z0-9-]{0,30}(?: [a-z][a-z0-9-]{0,30})?$/;
const FLAG_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const GLOBAL_FLAGS = new Set(['cluster', 'dry-run', 'help', 'now', 'at']);

/** Optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const cols = b.length + 1;
  const d = new Uint32Array((a.length + 1) * cols);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i <= a.length; i++) d[i * cols] = i;
  for (let j = 0; j <= b.length; j++) d[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(a.length, b.length);
}

function verbLine(spec: VerbSpec): string {
  const example = spec.example === spec.usage ? '' : `, e.g. \`${spec.example}\``;
  return `• \`${spec.usage}\` — ${spec.summary}${example}`;
}

function verbDetails(spec: VerbSpec): string {
  const lines = [`\`${spec.usage}\` — ${spec.summary}`, `Example: \`${spec.example}\``];
  const flags = Object.entries(spec.flags ?? {}).map(([name, f]) => `  \`--${name}${f.type === 'string' ? ' VALUE' : ''}\` — ${f.describe}`);
  if (spec.mutating) flags.push('  `--dry-run` — show the plan (steps, nodes, commands) without running anything');
  if ((spec.scope ?? 'cluster') === 'cluster') flags.push("  `--cluster NAME` — the cluster (default: this channel's cluster, or the only one)");
  if (flags.length > 0) lines.push('Flags:', ...flags);
  if (spec.mutating) lines.push('Changes the cluster: needs an operator and, unless the cluster\'s policy says otherwise, an approval of its plan.');
  return lines.join('\n');
}

export function createRegistry(specs: VerbSpec[]): Registry {
  const byVerb = new Map<string, VerbSpec>();
  for (const spec of specs) {
    if (!VERB_NAME.test(spec.verb)) throw new Error(`verb '${spec.verb}': a verb is lowercase letters, digits and '-' (a sub-verb: two such words)`);
    if (byVerb.has(spec.verb)) throw new Error(`verb '${spec.verb}' is registered twice`);
    for (const name of Object.keys(spec.flags ?? {})) {
      if (!FLAG_NAME.test(name)) throw new Error(`verb '${spec.verb}': bad flag name '--${name}'`);
      if (GLOBAL_FLAGS.has(name)) throw new Error(`verb '${spec.verb}': --${name} is a global flag and cannot be redefined`);
    }
    const keys = [...spec.positional, ...Object.values(spec.flags ?? {}).map((f) => f.key)];
    if (new Set(keys).size !== keys.length) throw new Error(`verb '${spec.verb}': two arguments share a key`);
    byVerb.set(spec.verb, spec);
  }
  const all = [...byVerb.values()];
  const groups = new Map<string, VerbSpec[]>();
  for (const spec of all) {
    const [group, sub] = spec.verb.split(' ');
    if (group === undefined || sub === undefined) continue;
    groups.set(group, [...(groups.get(group) ?? []), spec]);
  }
  for (const group of groups.keys()) {
    // `snap-proxy` alone and `snap-proxy pin` would make `snap-proxy pin` ambiguous.
    if (byVerb.has(group)) throw new Error(`verb '${group}' is also the group word of '${groups.get(group)?.[0]?.verb ?? ''}'`);
  }
  const subverbs = (group: string): VerbSpec[] => [...(groups.get(group.toLowerCase()) ?? [])];

  const registry: Registry = {
    get: (verb) => byVerb.get(verb),
    subverbs,
    list: () => [...all],
    nearest(word) {
      const w = word.toLowerCase();
      if (w.length === 0) return undefined;
      // One word: the one-word verbs and the group words; two words: the sub-verbs.
      const names = w.includes(' ') ? all.map((s) => s.verb).filter((v) => v.includes(' ')) : [...all.map((s) => s.verb).filter((v) => !v.includes(' ')), ...groups.keys()];
      let best: { verb: string; score: number } | undefined;
      for (const verb of names) {
        const distance = editDistance(w, verb);
        // A prefix of at least two letters counts as distance 1 ("up" → upgrade), an exact edit distance as itself.
        const prefix = w.length >= 2 && verb.startsWith(w) ? 1 : Number.POSITIVE_INFINITY;
        const score = Math.min(distance, prefix);
        // Distance 2 on a 2-letter word matches almost anything: require the word to be longer than the distance.
        if (score > 2 || (score === distance && distance >= w.length)) continue;
        if (!best || score < best.score || (score === best.score && verb < best.verb)) best = { verb, score };
      }
      return best?.verb;
    },
    helpText(verb) {
      if (verb !== undefined) {
        const spec = byVerb.get(verb.toLowerCase());
        if (spec) return verbDetails(spec);
        const subs = subverbs(verb);
        if (subs.length > 0) return [`\`${verb.toLowerCase()}\` has ${subs.length} sub-commands:`, ...subs.map(verbDetails)].join('\n\n');
        const guess = registry.nearest(verb);
        return `unknown verb '${excerpt(verb)}'${guess ? `; did you mean '${guess}'?` : ''}\n\n${registry.helpText()}`;
      }
      const head = 'Usage: `/mk8s <verb> [args] [--flags]`. `--cluster NAME` picks the cluster (default: this channel\'s, or the only one); `--dry-run` shows the plan of a verb that changes a cluster.';
      const readOnly = all.filter((s) => !s.mutating).map(verbLine);
      const mutating = all.filter((s) => s.mutating).map(verbLine);
      const parts = [head, '', '*Read-only*', ...readOnly];
      if (mutating.length > 0) parts.push('', '*Changes a cluster* (needs an operator; the plan is approved first)', ...mutating);
      parts.push('', 'Details of one verb: `help <verb>`.');
      return parts.join('\n');
    },
  };
  return registry;
}
