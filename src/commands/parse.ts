import type * as z from 'zod';
import { clusterConfig, type ClusterConfig, type Inventory } from '../config/inventory.ts';
import type { Json, VerbSpec } from '../engine/runbook.ts';
import { excerpt } from '../util/excerpt.ts';
import { RequestError } from './errors.ts';
import type { Registry } from './registry.ts';
import { tokenize } from './tokenize.ts';

/**
 * `<verb> [args] [--flags]` → a typed request, or a RequestError that says what
 * was wrong and what is allowed. Nothing here touches a cluster.
 */

export interface ParsedCommand {
  spec: VerbSpec;
  verb: string;
  /** undefined only for global verbs (help, clusters). */
  cluster?: ClusterConfig;
  /** Parsed, validated arguments (positional and flags), as the spec's schema outputs them. */
  args: Record<string, Json>;
  /** `--dry-run` was given (only accepted on mutating verbs). */
  dryRun: boolean;
  /** `--now`: run outside the cluster's maintenance windows (mutating verbs; approved as destructive). */
  now?: boolean;
  /** `--at <time>`: when the job may start changing the cluster, as typed (mutating verbs; resolved by the bot). */
  at?: string;
  /** The command, normalised (single spaces), for the thread and the audit trail. */
  text: string;
}

export interface ParseContext {
  /** The channel the request came from: picks the cluster when --cluster is absent. */
  channel: string;
  inventory: Inventory;
  registry: Registry;
}

const FLAG = /^--([a-z][a-z0-9-]{0,30})(?:=(.*))?$/;

function usageHint(spec: VerbSpec): string {
  return spec.example === spec.usage ? `usage: \`${spec.usage}\`` : `usage: \`${spec.usage}\`, e.g. \`${spec.example}\``;
}

function flagList(spec: VerbSpec): string {
  const own = Object.entries(spec.flags ?? {}).map(([name, f]) => (f.type === 'string' ? `--${name} VALUE` : `--${name}`));
  const global: string[] = [];
  if ((spec.scope ?? 'cluster') === 'cluster') global.push('--cluster NAME');
  if (spec.mutating) global.push('--dry-run');
  if (spec.mutating && spec.hold !== false) global.push('--now', '--at TIME');
  const all = [...own, ...global];
  return all.length === 0 ? `\`${spec.verb}\` takes no flags` : `\`${spec.verb}\` takes ${all.join(', ')}`;
}

function clusterNames(inv: Inventory): string {
  return Object.keys(inv.clusters).join(', ');
}

function resolveCluster(spec: VerbSpec, requested: string | undefined, ctx: ParseContext): ClusterConfig {
  const inv = ctx.inventory;
  if (requested !== undefined) {
    const found = clusterConfig(inv, requested);
    if (!found) throw new RequestError(`unknown cluster '${excerpt(requested)}'; clusters: ${clusterNames(inv)}`, 'cluster');
    return found;
  }
  const names = Object.keys(inv.clusters);
  const here = names.filter((name) => inv.clusters[name]?.channel === ctx.channel);
  const only = here.length === 1 ? here[0] : names.length === 1 ? names[0] : undefined;
  const found = only === undefined ? undefined : clusterConfig(inv, only);
  if (found) return found;
  if (here.length > 1) {
    throw new RequestError(`this channel serves clusters ${here.join(', ')}; say which with --cluster NAME, e.g. \`${spec.verb} --cluster ${here[0] ?? ''}\``, 'cluster');
  }
  throw new RequestError(
    `which cluster? this channel is not a cluster's channel; add --cluster NAME (clusters: ${clusterNames(inv)}), e.g. \`${spec.verb} --cluster ${names[0] ?? 'prod'}\``,
    'cluster',
  );
}

function argName(spec: VerbSpec, key: string): string {
  if (spec.positional.includes(key)) return `<${key}>`;
  const flag = Object.entries(spec.flags ?? {}).find(([, f]) => f.key === key);
  return flag ? `--${flag[0]}` : key;
}

function formatIssues(spec: VerbSpec, raw: Record<string, unknown>, error: z.ZodError): string {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const key = issue.path[0];
    if (typeof key === 'string' && raw[key] === undefined && spec.positional.includes(key)) {
      lines.push(`missing ${argName(spec, key)}`);
    } else if (typeof key === 'string') {
      lines.push(`${argName(spec, key)}: ${issue.message}`);
    } else {
      lines.push(issue.message);
    }
  }
  return [...new Set(lines)].join('; ');
}

function isJson(value: unknown): value is Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every((v) => v === undefined || isJson(v));
  }
  return false;
}

/** The schema's output as JSON (job data, audit), without undefined values. */
function toJson(spec: VerbSpec, value: unknown): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (typeof value !== 'object' || value === null) return out;
  const entries: [string, unknown][] = Object.entries(value);
  for (const [k, v] of entries) {
    if (v === undefined) continue;
    // A schema that outputs a Date or a Map is a bug in the verb, not in the request.
    if (!isJson(v)) throw new Error(`verb '${spec.verb}': argument '${k}' is not JSON after parsing`);
    out[k] = v;
  }
  return out;
}

function helpCommand(ctx: ParseContext, verb: string | undefined, text: string): ParsedCommand {
  const spec = ctx.registry.get('help');
  if (!spec) throw new RequestError(ctx.registry.helpText(verb), 'usage');
  const args = verb === undefined ? {} : { verb };
  const parsed = spec.args.safeParse(args);
  return { spec, verb: 'help', args: toJson(spec, parsed.success ? parsed.data : {}), dryRun: false, text };
}

/**
 * The verb named by the first word, or by the first two for a sub-verb (`snap-proxy pin`):
 * the spec and the words after it; `help` for `<group> --help`; a RequestError otherwise.
 */
function resolveVerb(ctx: ParseContext, first: string, rest: string[], text: string): { spec: VerbSpec; rest: string[] } | { help: ParsedCommand } {
  const verb = first.toLowerCase();
  const spec = ctx.registry.get(verb);
  if (spec) return { spec, rest };
  const subs = ctx.registry.subverbs(verb);
  if (subs.length === 0) {
    const guess = ctx.registry.nearest(verb);
    const hint = guess ? `; did you mean '${guess}'?` : '.';
    throw new RequestError(`unknown verb '${excerpt(first)}'${hint} Try \`help\`.`, 'unknown-verb');
  }
  const names = subs.map((s) => s.verb.slice(verb.length + 1));
  const takes = `\`${verb}\` takes ${names.join(', ')}, e.g. \`${subs[0]?.example ?? verb}\``;
  const second = rest[0];
  if (second === '--help') return { help: helpCommand(ctx, verb, text) };
  if (second === undefined || second.startsWith('-')) throw new RequestError(`\`${verb}\` needs a sub-command: ${takes}. Try \`help ${verb}\`.`, 'usage');
  const sub = ctx.registry.get(`${verb} ${second.toLowerCase()}`);
  if (sub) return { spec: sub, rest: rest.slice(1) };
  const guess = ctx.registry.nearest(`${verb} ${second.toLowerCase()}`);
  const hint = guess ? `; did you mean '${guess}'?` : '';
  throw new RequestError(`unknown \`${verb}\` sub-command '${excerpt(second)}'${hint}; ${takes}. Try \`help ${verb}\`.`, 'unknown-verb');
}

export function parseCommand(input: string, ctx: ParseContext): ParsedCommand {
  const words = tokenize(input);
  const text = words.join(' ');
  const [first, ...others] = words;
  if (first === undefined || first === '--help') return helpCommand(ctx, undefined, text || 'help');
  if (first.startsWith('-')) {
    throw new RequestError(`start with a verb, then its arguments and flags, e.g. \`status --cluster prod\`; '${excerpt(first)}' is a flag. Try \`help\``, 'usage');
  }
  const found = resolveVerb(ctx, first, others, text);
  if ('help' in found) return found.help;
  const { spec, rest } = found;
  const scope = spec.scope ?? 'cluster';

  const positional: string[] = [];
  const flags: Record<string, Json> = {};
  const seen = new Set<string>();
  let cluster: string | undefined;
  let dryRun = false;
  let now = false;
  let at: string | undefined;

  for (let i = 0; i < rest.length; i++) {
    const word = rest[i];
    if (word === undefined) break;
    if (!word.startsWith('-')) {
      positional.push(word);
      continue;
    }
    const m = FLAG.exec(word);
    if (!m) {
      throw new RequestError(`'${excerpt(word)}' is not a flag: flags are written --name (${flagList(spec)})`, 'unknown-flag');
    }
    const name = m[1] ?? '';
    const inline = m[2];
    if (seen.has(name)) throw new RequestError(`--${name} is given twice`, 'usage');
    seen.add(name);
    const takeValue = (): string => {
      if (inline !== undefined) {
        if (inline === '') throw new RequestError(`--${name}= needs a value, e.g. --${name}=VALUE`, 'usage');
        return inline;
      }
      const next = rest[i + 1];
      if (next === undefined || next.startsWith('--')) throw new RequestError(`--${name} needs a value (${usageHint(spec)})`, 'usage');
      i++;
      return next;
    };
    const noValue = (): void => {
      if (inline !== undefined) throw new RequestError(`--${name} takes no value; write just --${name}`, 'usage');
    };

    if (name === 'help') {
      noValue();
      return helpCommand(ctx, spec.verb, text);
    }
    if (name === 'cluster') {
      if (scope === 'global') throw new RequestError(`\`${spec.verb}\` is not about one cluster; drop --cluster`, 'unknown-flag');
      cluster = takeValue();
      continue;
    }
    if (name === 'dry-run') {
      noValue();
      if (!spec.mutating) {
        throw new RequestError(`--dry-run is only for verbs that change a cluster; \`${spec.verb}\` changes nothing, so run it without --dry-run`, 'unknown-flag');
      }
      dryRun = true;
      continue;
    }
    if (name === 'now' || name === 'at') {
      if (!spec.mutating || spec.hold === false) {
        throw new RequestError(`--${name} is only for verbs that change a cluster and wait for its maintenance windows; \`${spec.verb}\` does not`, 'unknown-flag');
      }
      if (name === 'now') {
        noValue();
        now = true;
      } else {
        at = takeValue();
      }
      continue;
    }
    const flag = spec.flags?.[name];
    if (!flag) throw new RequestError(`unknown flag --${name}; ${flagList(spec)}`, 'unknown-flag');
    if (flag.type === 'boolean') {
      noValue();
      flags[flag.key] = true;
    } else {
      flags[flag.key] = takeValue();
    }
  }

  if (positional.length > spec.positional.length) {
    const extra = positional.slice(spec.positional.length).map((w) => `'${excerpt(w)}'`).join(' ');
    const what = spec.positional.length === 0 ? `\`${spec.verb}\` takes no arguments` : `too many arguments (${extra})`;
    throw new RequestError(`${what}; ${usageHint(spec)}`, 'usage');
  }

  const raw: Record<string, unknown> = { ...flags };
  spec.positional.forEach((key, i) => {
    if (positional[i] !== undefined) raw[key] = positional[i];
  });
  const result = spec.args.safeParse(raw);
  if (!result.success) {
    const missing = spec.positional.some((key) => raw[key] === undefined && result.error.issues.some((iss) => iss.path[0] === key));
    throw new RequestError(`${formatIssues(spec, raw, result.error)} (${usageHint(spec)})`, missing ? 'usage' : 'bad-argument');
  }
  const args = toJson(spec, result.data);

  if (scope === 'global') return { spec, verb: spec.verb, args, dryRun, text };

  const resolved = resolveCluster(spec, cluster, ctx);
  const problem = spec.validate?.(result.data, resolved);
  if (problem) throw new RequestError(problem, 'bad-argument');
  return { spec, verb: spec.verb, cluster: resolved, args, dryRun, text, ...(now ? { now } : {}), ...(at !== undefined ? { at } : {}) };
}
