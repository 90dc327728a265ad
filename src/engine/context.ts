/**
 * src/engine — the durable runbook engine on BullMQ: the worker (worker.ts) runs a runbook
 * (define.ts) in a RunContext (this file), the one object a runbook and the step helpers of
 * src/ops see. It is a thin composition of one activation's parts: its state, checkpoints and
 * audit writes (run-core.ts), checkpointed steps and memos (`run.step`, `run.memo`:
 * run-steps.ts), gates that park the job (`run.approval`, `run.approvePlan`, `run.choice`,
 * `run.wait`: run-gates.ts), the thread (`run.say`: run-thread.ts over outbox.ts), and typed
 * access to nodes (`run.node(name)` → src/microk8s: run-nodes.ts). Its control flow
 * (DelayedError, replay errors) stays in here: runbooks that handle a failure use
 * `run.attempt`. The chat messages it posts are messages.ts; the buttons a failure offers,
 * offers.ts.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChatMessage } from '../chat/port.ts';
import type { ClusterConfig, NodeConfig } from '../config/inventory.ts';
import type { MicroK8sNode } from '../microk8s/node.ts';
import type { SnapProxy } from '../microk8s/snap-proxy.ts';
import type { WindowsNode } from '../microk8s/windows-node.ts';
import type { Clock } from '../schedule/clock.ts';
import type { ChoiceOption, JobData, RollbackInfo } from './job-data.ts';
import { errorText, isControlFlow } from './control-flow.ts';
import { awaitStart } from './start-waits.ts';
import { RunCore } from './run-core.ts';
import { openGate, stopUnlessApproved } from './run-gates.ts';
import { RunNodes } from './run-nodes.ts';
import { memo, runStep } from './run-steps.ts';
import type { Json, PlanStep } from './runbook.ts';
import { RECHECK_TITLE, type Attempt, type EngineDeps, type GateSpec, type PlanApproval, type StepOptions } from './run-types.ts';

export { errorText };
export { RECHECK_TITLE, type Attempt, type EngineDeps, type GateSpec, type PlanApproval, type StepOptions };

/**
 * The context a runbook runs in, for one activation of its job. Steps replay
 * from the checkpoints in the job's data: finished steps return their recorded
 * result, the step that was in flight runs again.
 */
export class RunContext {
  readonly jobId: string;
  readonly request: JobData['request'];
  private readonly core: RunCore;
  private readonly nodes: RunNodes;
  private planSteps: PlanStep[] = [];

  constructor(
    job: Job<JobData>,
    token: string | undefined,
    readonly cluster: ClusterConfig,
    deps: EngineDeps,
    /** Fired by the worker when the job's lock could not be renewed. */
    signal?: AbortSignal,
  ) {
    this.core = new RunCore(job, token, cluster, deps, signal);
    this.jobId = this.core.jobId;
    this.request = this.core.data.request;
    this.nodes = new RunNodes(this.core);
  }

  /** This activation lost the job's lock (it must stop without touching anything). */
  get lockLost(): boolean {
    return this.core.lock.isLost;
  }

  get clock(): Clock { return this.core.clock; }

  get backupDir(): string {
    return this.core.deps.backupDir;
  }

  /** Redis, for records that outlive the job (the node records of src/store/node-records.ts). */
  get redis(): Redis {
    return this.core.deps.redis;
  }

  get state(): JobData['state'] {
    return this.core.data.state;
  }

  /** The plan the runbook declared (shown by --dry-run and the plan gate). */
  plan(): PlanStep[] {
    return this.planSteps;
  }

  setPlan(plan: PlanStep[]): void {
    this.planSteps = plan;
  }

  // ---- nodes (run-nodes.ts) -----------------------------------------------------------

  nodeConfig(name: string): NodeConfig {
    return this.nodes.nodeConfig(name);
  }

  /** Typed MicroK8s operations on a node, over this job's one SSH connection to it. */
  node(name: string): MicroK8sNode {
    return this.nodes.node(name);
  }

  /** PowerShell operations on a Windows worker (an `os: windows` node), over the same one connection. */
  windowsNode(name: string): WindowsNode {
    return this.nodes.windowsNode(name);
  }

  /**
   * `snap-proxy …` on the cluster's Snap Store Proxy host (inventory `snapProxy`, the cluster's
   * SSH settings), over this job's connection to it. Throws when the cluster has none.
   */
  snapProxy(): SnapProxy {
    return this.nodes.snapProxy();
  }

  // ---- lifecycle (used by the worker) -------------------------------------------------

  async begin(): Promise<void> {
    const { core } = this;
    await core.loadSteps();
    core.data.activations += 1;
    // Not awaited: the steps start at once, their lines wait in the outbox for the parent.
    core.thread.openParent();
    const wasQueued = core.data.state === 'queued';
    if (wasQueued) core.data.state = 'running';
    // Written with the first boundary (a step's start, a gate) or before the first command.
    core.saveLater();
    // A job woken at a gate shows its new state once the gate is settled.
    if (wasQueued) await this.updateParent();
  }

  /** Records the final state (only while this activation holds the job). */
  async finish(state: JobData['state'], summary: string): Promise<void> {
    this.core.data.state = state;
    this.core.data.summary = summary;
    await this.core.save();
  }

  /**
   * Releases the cluster hold, after the job's final messages are out and before the parent
   * shows the final state, so whoever reads "succeeded" (or "cancelled", ...) can queue the
   * next job at once. BullMQ drops the key anyway when the job completes; compare-and-delete.
   */
  async releaseHold(): Promise<void> {
    await this.core.lock.assertHeld();
    await this.core.job.removeDeduplicationKey();
  }

  async close(): Promise<void> {
    this.nodes.close();
    this.core.thread.release();
    await this.core.auditSettled();
  }

  /** Issues an audit write without waiting for it (the activation's end waits for them all). */
  auditLater(event: Parameters<EngineDeps['audit']['record']>[0]): void {
    this.core.audited(event);
  }

  /** Resolves once the thread shows everything the job posted (the job itself does not wait for it). */
  delivered(): Promise<void> {
    return this.core.thread.outbox.flush();
  }

  setRollback(info: RollbackInfo): void {
    this.core.data.rollback = info;
    // Written with the next step's start, and in any case before the next command reaches a
    // node (RunCore.flush): the refresh it guards cannot run before the rollback is recorded.
    this.core.saveLater();
  }

  // ---- thread (run-thread.ts) ---------------------------------------------------------

  /** Posts in the job's thread, after everything posted before it; the job does not wait for Slack. */
  say(message: ChatMessage | string): Promise<void> {
    return this.core.thread.say(message);
  }

  /** Posts a message outside the job's thread (the cluster's audit channel), through the job's outbox. */
  postElsewhere(channel: string, message: ChatMessage): void {
    this.core.thread.outbox.post(channel, message, undefined, { solo: true });
  }

  /** Uploads a local file into the job's thread (Slack files.uploadV2; the console prints the path). */
  upload(path: string, title: string): Promise<void> {
    return this.core.thread.upload(path, title);
  }

  /** Queues the parent message's update (the newest state wins; it is shown after the thread's earlier messages). */
  updateParent(): Promise<void> {
    return this.core.thread.updateParent();
  }

  // ---- steps (run-steps.ts) -----------------------------------------------------------

  step<T extends Json | void>(title: string, fn: () => Promise<T>, options: StepOptions<T> = {}): Promise<T> {
    return runStep(this.core, title, fn, options);
  }

  /** Names of the steps that finished, in order (for "what was and was not done"). */
  doneSteps(): string[] {
    return this.core.doneSteps();
  }

  /** A silent checkpoint: `fn` runs once; a later activation gets its first answer (decisions that must replay the same). */
  memo<T extends Json>(fn: () => T): Promise<T> {
    return memo(this.core, fn);
  }

  /**
   * Runs `fn` and hands back its failure instead of throwing it, for a runbook that asks people
   * what to do after a failed step (retry, roll back, stop). The engine's own control flow — a
   * parked gate, a stop (rejected, expired, cancelled), a replay mismatch — is never handed
   * back: it goes on up, so a runbook cannot swallow it.
   */
  async attempt<T>(fn: () => Promise<T>): Promise<Attempt<T>> {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (isControlFlow(err)) throw err;
      return { ok: false, error: err };
    }
  }

  // ---- gates (run-gates.ts) -----------------------------------------------------------

  /**
   * Waits for a person's decision without holding a worker: the job is parked
   * as a BullMQ delayed job until the gate expires, and woken by the click.
   * Approved → returns. Rejected or expired → StopRunbook.
   */
  async approval(spec: GateSpec, options: { thenAwaitStart?: boolean } = {}): Promise<void> {
    const gate = await openGate(this.core, spec, 'approval');
    stopUnlessApproved(this.core, gate);
    // Approved: a scheduled start (--at) and the maintenance windows come next (src/engine/start-waits.ts).
    if (options.thenAwaitStart !== false) await awaitStart(this);
  }

  /**
   * The plan gate: unless the policy skips it (`approvePlan: false`, and not `always`), waits
   * for an approval of the plan the runbook declared, then runs `recheck` as its own step.
   */
  async approvePlan(spec: PlanApproval): Promise<void> {
    const { recheck, always, ...gate } = spec;
    if (always !== true && !this.cluster.policy.approvePlan) return;
    await this.approval({ ...gate, plan: this.planSteps });
    if (recheck) await this.step(RECHECK_TITLE, async () => (await recheck()) ?? true);
  }

  /**
   * Asks people to pick one of several options (retry the step, roll back this
   * node, stop) and returns the id picked — or `onExpiry` if nobody answers in time.
   */
  async choice(spec: GateSpec & { options: ChoiceOption[]; onExpiry: string }): Promise<string> {
    const gate = await openGate(this.core, spec, 'choice');
    return gate.decision === 'chosen' && gate.choice ? gate.choice : spec.onExpiry;
  }

  /** Parks the job until `until` (a window opens, a scheduled start); an option's button ends it early. Returns the option picked or 'time'. */
  async wait(spec: GateSpec & { until: number; options: ChoiceOption[] }): Promise<string> {
    const gate = await openGate(this.core, { ...spec, expiresAt: spec.until }, 'wait');
    return gate.decision === 'chosen' && gate.choice ? gate.choice : 'time';
  }

  /** `--now` approved, or "Start now" pressed outside a window: the windows no longer hold this job back. */
  get windowOverride(): boolean { return this.core.data.windowOverride === true; }
  async setWindowOverride(): Promise<void> { this.core.data.windowOverride = true; await this.core.save(); }
}
