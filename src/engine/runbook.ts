import type * as z from 'zod';
import type { ClusterConfig, NodeConfig } from '../config/inventory.ts';
import type { MicroK8sNode } from '../microk8s/node.ts';
import type { KubeNode, SnapState } from '../microk8s/types.ts';

/** JSON values: what a step may return (it is checkpointed in the job's data). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One line of a plan, shown by --dry-run and in the "Approve plan" gate. */
export interface PlanStep {
  title: string;
  /** Node the step runs on, when it runs on one. */
  node?: string;
  /** The commands, as a person would type them (display only). */
  commands: string[];
  /** Destructive steps get their own approval gate. */
  destructive?: boolean;
}

/** A flag of a verb: `--batch 3`, `--dry-run`, `--force`. */
export interface FlagSpec {
  /** Key in the parsed arguments. */
  key: string;
  type: 'boolean' | 'string';
  describe: string;
}

/** The request as it travels in the job's data and the audit trail. */
export interface JobRequest {
  verb: string;
  cluster: string;
  /** Parsed, validated arguments (positional and flags) */
  args: Record<string, Json>;
  /** The text as typed, for the thread and audit. */
  text: string;
  user: string;
  channel: string;
  requestedAt: number;
  /** `--at`: epoch ms (the bot's clock) before which the job does not change anything. */
  startAt?: number;
  /** `--now`: run outside the maintenance windows, after a destructive approval that says so. */
  overrideWindow?: boolean;
}

/** Read access the bot core gives a verb's precheck, before anything is queued. */
export interface PrecheckContext {
  cluster: ClusterConfig;
  /** Fast read-only probe of a node (bounded by a short timeout). */
  snap(node: string): Promise<SnapState>;
  /** `kubectl get nodes` as that node answers it (same bound): is a node already in the cluster? */
  nodes(node: string): Promise<KubeNode[]>;
}

/** Read-only access to the nodes for a dry run that reads the cluster (the normal SSH timeouts). */
export interface DryRunContext {
  cluster: ClusterConfig;
  node(name: string): MicroK8sNode;
}

export interface VerbSpec<A extends z.ZodType = z.ZodType> {
  verb: string;
  /** `upgrade <node> <channel>` */
  usage: string;
  /** `upgrade k8s-1 1.23/stable` */
  example: string;
  summary: string;
  /** Names of positional arguments, in order (keys of `args`). */
  positional: string[];
  /** Flags by their `--name`. `--dry-run` and `--cluster` are global and not listed here. */
  flags?: Record<string, FlagSpec>;
  /** Validates positional + flag values; messages must say what is allowed. */
  args: A;
  /** Changes the cluster: needs an operator, takes the cluster hold, shows a plan. */
  mutating: boolean;
  /**
   * A mutating verb takes the cluster hold (one at a time per cluster) unless this is `false`:
   * then it is queued as a job with its thread but runs alongside the job holding the cluster
   * (`inspect`: it collects a report and changes nothing a rollout depends on).
   */
  hold?: boolean;
  /**
   * `cluster` (default): the verb acts on one cluster, resolved from `--cluster`, the channel or the only one.
   * `global`: no cluster (help, clusters); `--cluster` is refused.
   */
  scope?: 'cluster' | 'global';
  /**
   * Who may request it, when not the default (viewer for read-only verbs, operator for mutating ones):
   * `anyone` (help), `viewer`, or `operator` (e.g. `cancel`, which is read-only for the cluster but not for jobs).
   */
  role?: 'anyone' | 'viewer' | 'operator';
  /** Checks against the inventory (node exists, role): returns an error message or undefined. */
  validate?(args: z.infer<A>, cluster: ClusterConfig): string | undefined;
  /** Checks that need a quick look at the cluster (skip-level upgrade): error message or undefined. */
  precheck?(args: z.infer<A>, ctx: PrecheckContext): Promise<string | undefined>;
  /**
   * A dry run that reads the cluster first (read-only commands only): what it found and the
   * plan built from it. Without it, --dry-run shows `plan()`.
   */
  dryRun?(args: z.infer<A>, ctx: DryRunContext): Promise<{ summary: string; plan: PlanStep[] }>;
  /** The plan: steps, nodes, commands. */
  plan(args: z.infer<A>, cluster: ClusterConfig): PlanStep[];
}

export type { NodeConfig };
