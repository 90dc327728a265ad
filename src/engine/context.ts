/**
 * src/engine — the durable runbook engine on BullMQ: the worker (worker.ts) runs a runbook
 * (define.ts) in a RunContext (this file): checkpointed steps (`run.step`), gates that park the job
 * (`run.approval`, `run.approvePlan`, `run.choice`), the thread (`run.say`), and typed access to
 * nodes (`run.node(name)` → src/microk8s). Its control flow (DelayedError, replay errors) stays
 * in here: runbooks that handle a failure use `run.attempt`. The chat messages it posts are
 * messages.ts; the buttons a failure offers, offers.ts.
 */
import { randomBytes } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { EXPIRY_USER } from '../audit/events.ts';
import type { ChatMessage, MessageRef } from '../chat/port.ts';
import type { ClusterConfig, NodeConfig } from '../config/inventory.ts';
import { MicroK8sNode } from '../microk8s/node.ts';
import { SnapProxy } from '../microk8s/snap-proxy.ts';
import { WindowsNode } from '../microk8s/windows-node.ts';
import { keys } from '../queue/keys.ts';
import { realTime, systemClock, type Clock } from '../schedule/clock.ts';
import { SshPool } from '../ssh/pool.ts';
import { snapProxyTarget, sshTargetFor } from '../ssh/target.ts';
import type { CommandEvent, RemoteShell, SshTarget } from '../ssh/types.ts';
import { logTo, showError } from '../errors/boundary.ts';
import { ReplayedStepError, ReplayMismatchError, StopRunbook } from './errors.ts';
import { JobLock, LockLostError, lockedShell } from './job-lock.ts';
import type { ChoiceOption, DecisionRecord, GateRecord, JobData, RollbackInfo } from './job-data.ts';
import { multiApproval } from './multi-approval.ts';
import { decidedGateMessage, gateMessage, parentMessage, seconds, stepMessage } from './messages.ts';
import { errorText, isControlFlow, promoteQuietly } from './control-flow.ts';
import { findOrPostParent } from './parent-ref.ts';
import { awaitStart } from './start-waits.ts';
import { Outbox, type OutboxLine } from './outbox.ts';
import type { Json, PlanStep } from './runbook.ts';
import { RECHECK_TITLE, type Attempt, type EngineDeps, type GateSpec, type PlanApproval, type StepOptions } from './run-types.ts';

export { errorText };
export { RECHECK_TITLE, type Attempt, type EngineDeps, type GateSpec, type PlanApproval, type StepOptions };

/** How long a job handed back at shutdown waits before any worker may take it again. */
const HAND_BACK_DELAY_MS = 2_000;

/**
 * The context a runbook runs in, for one activation of its job. Steps replay
 * from the checkpoints in the job's data: finished steps return their recorded
 * result, the step that was in flight runs again.
 */
export class RunContext {
  readonly jobId: string;
  readonly request: JobData['request'];
  private data: JobData;
  private seq = 0;
  private readonly pool: SshPool;
  /** The job's own pool when the process has none to share (closed with the job). */
  private readonly ownPool: boolean;
  private readonly pendingAudit: Promise<void>[] = [];
  private readonly nodes = new Map<string, MicroK8sNode>();
  private readonly windowsNodes = new Map<string, WindowsNode>();
  private planSteps: PlanStep[] = [];
  private proxy: SnapProxy | undefined;
  private readonly lock: JobLock;
  /** The thread's progress, delivered in order without holding up the steps. */
  private readonly outbox: Outbox;

  constructor(
    private readonly job: Job<JobData>,
    private readonly token: string | undefined,
    readonly cluster: ClusterConfig,
    private readonly deps: EngineDeps,
    /** Fired by the worker when the job's lock could not be renewed. */
    signal?: AbortSignal,
  ) {
    this.jobId = String(job.id);
    this.data = structuredClone(job.data);
    this.request = this.data.request;
    this.lock = new JobLock(deps.redis, this.jobId, token, signal);
    this.ownPool = deps.ssh === undefined;
    this.pool = deps.ssh ?? new SshPool({});
    this.outbox = new Outbox(deps.chat, deps.logger);
  }

  /** This activation lost the job's lock (it must stop without touching anything). */
  get lockLost(): boolean {
    return this.lock.isLost;
  }

  get clock(): Clock { return this.deps.clock ?? systemClock; }

  get backupDir(): string {
    return this.deps.backupDir;
  }

  /** Redis, for records that outlive the job (the node records of src/ops/node-records.ts). */
  get redis(): Redis {
    return this.deps.redis;
  }

  get state(): JobData['state'] {
    return this.data.state;
  }

  /** The plan the runbook declared (shown by --dry-run and the plan gate). */
  plan(): PlanStep[] {
    return this.planSteps;
  }

  setPlan(plan: PlanStep[]): void {
    this.planSteps = plan;
  }

  nodeConfig(name: string): NodeConfig {
    const node = this.cluster.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`node ${name} is not in the inventory of cluster ${this.cluster.name}`);
    return node;
  }

  /** Typed MicroK8s operations on a node, over this job's one SSH connection to it. */
  /**
   * The job's view of the process's pooled connection to a node: its commands go to the job's
   * audit trail, and each first checks that this activation still holds the job.
   */
  private shellOn(target: SshTarget): RemoteShell {
    return lockedShell(this.pool.shell(target, { onCommand: (e) => this.onCommand(e) }), this.lock);
  }

  node(name: string): MicroK8sNode {
    let ops = this.nodes.get(name);
    if (!ops) {
      this.nodeConfig(name);
      ops = new MicroK8sNode(this.shellOn(sshTargetFor(this.cluster, name)));
      this.nodes.set(name, ops);
    }
    return ops;
  }

  /** PowerShell operations on a Windows worker (an `os: windows` node), over the same one connection. */
  windowsNode(name: string): WindowsNode {
    let ops = this.windowsNodes.get(name);
    if (!ops) {
      if (this.nodeConfig(name).os !== 'windows') throw new Error(`node ${name} is not a Windows node in the inventory of cluster ${this.cluster.name}`);
      ops = new WindowsNode(this.shellOn(sshTargetFor(this.cluster, name)), this.cluster.windows.scriptTimeout);
      this.windowsNodes.set(name, ops);
    }
    return ops;
  }

  /**
   * `snap-proxy …` on the cluster's Snap Store Proxy host (inventory `snapProxy`, the cluster's
   * SSH settings), over this job's connection to it. Throws when the cluster has none.
   */
  snapProxy(): SnapProxy {
    if (!this.proxy) {
      const target = snapProxyTarget(this.cluster);
      if (!target) throw new Error(`cluster ${this.cluster.name} has no snapProxy in the inventory`);
      this.proxy = new SnapProxy(this.shellOn(target));
    }
    return this.proxy;
  }

  // ---- lifecycle (used by the worker) -------------------------------------------------

  async begin(): Promise<void> {
    this.data.activations += 1;
    this.data.parent ??= await findOrPostParent(this.deps, this.jobId, this.data);
    const wasQueued = this.data.state === 'queued';
    if (wasQueued) this.data.state = 'running';
    await this.save();
    // A job woken at a gate shows its new state once the gate is settled.
    if (wasQueued) await this.updateParent();
  }

  /** Records the final state (only while this activation holds the job). */
  async finish(state: JobData['state'], summary: string): Promise<void> {
    this.data.state = state;
    this.data.summary = summary;
    await this.save();
  }

  /**
   * Releases the cluster hold, after the job's final messages are out and before the parent
   * shows the final state, so whoever reads "succeeded" (or "cancelled", ...) can queue the
   * next job at once. BullMQ drops the key anyway when the job completes; compare-and-delete.
   */
  async releaseHold(): Promise<void> {
    await this.lock.assertHeld();
    await this.job.removeDeduplicationKey();
  }

  async close(): Promise<void> {
    if (this.ownPool) this.pool.closeAll();
    await Promise.allSettled(this.pendingAudit);
  }

  /** Resolves once the thread shows everything the job posted (the job itself does not wait for it). */
  delivered(): Promise<void> {
    return this.outbox.flush();
  }

  setRollback(info: RollbackInfo): Promise<void> {
    this.data.rollback = info;
    return this.save();
  }

  // ---- thread -------------------------------------------------------------------------

  /** Posts in the job's thread, after everything posted before it; the job does not wait for Slack. */
  async say(message: ChatMessage | string): Promise<void> {
    if (this.lock.isLost) throw new LockLostError(`job ${this.jobId}: lock lost; not posting`);
    this.sayLine(message);
  }

  /** Posts in the thread and waits until the message is there (its ts is needed: a gate's buttons). */
  private async sayAndWait(message: ChatMessage): Promise<MessageRef> {
    if (this.lock.isLost) throw new LockLostError(`job ${this.jobId}: lock lost; not posting`);
    const ref = await this.sayLine(message).posted();
    if (!ref) throw new Error(`could not post to job ${this.jobId}'s thread`);
    return ref;
  }

  private sayLine(message: ChatMessage | string): OutboxLine {
    const msg = typeof message === 'string' ? { text: message } : message;
    const parent = this.requireParent();
    return this.outbox.post(parent.channel, msg, parent.ts, { solo: true });
  }

  /** Uploads a local file into the job's thread (Slack files.uploadV2; the console prints the path). */
  async upload(path: string, title: string): Promise<void> {
    const parent = this.requireParent();
    await this.outbox.flush(); // after the messages before it
    await this.deps.chat.uploadFile(parent.channel, parent.ts, path, title);
  }

  // ---- steps --------------------------------------------------------------------------

  async step<T extends Json | void>(title: string, fn: () => Promise<T>, options: StepOptions<T> = {}): Promise<T> {
    const key = `s${++this.seq}`;
    const previous = this.data.steps[key];
    if (previous && previous.title !== title) {
      throw new ReplayMismatchError(`step ${key} was "${previous.title}" when first run, now "${title}"`);
    }
    if (previous && previous.status === 'done') return previous.result as T;
    if (previous && previous.status === 'failed') throw new ReplayedStepError(previous.error ?? 'failed');
    await this.checkCancelled(title);
    // A step boundary: an activation that lost the job stops here, before its first message.
    await this.lock.assertHeld();
    if (this.deps.stopping?.()) await this.handBack(title);

    const rerun = previous?.status === 'running';
    const startedAt = Date.now();
    const parent = this.requireParent();
    // The step's message goes through the outbox: the step runs at once, the thread follows.
    let line: OutboxLine | MessageRef;
    if (previous?.msgTs) {
      line = { channel: parent.channel, ts: previous.msgTs };
      this.outbox.update(line, stepMessage(title, 'rerun', 'running again after an interruption'));
    } else {
      const posted = this.outbox.post(parent.channel, stepMessage(title, 'running'), parent.ts);
      line = posted;
      void posted.posted().then((ref) => {
        // Checkpointed, so a rerun after a crash updates this message instead of posting another.
        const rec = this.data.steps[key];
        if (!ref || !rec || rec.msgTs !== undefined) return;
        rec.msgTs = ref.ts;
        if (rec.status === 'running') {
          this.save().catch((err: unknown) => this.deps.logger.warn({ err: errorText(err), jobId: this.jobId }, 'could not checkpoint a step message'));
        }
      });
    }
    const tsOf = (l: OutboxLine | MessageRef) => ('index' in l ? l.ref?.ts : l.ts);
    const msgTs = (): { msgTs?: string } => {
      const ts = tsOf(line) ?? this.data.steps[key]?.msgTs;
      return ts ? { msgTs: ts } : {};
    };
    this.data.steps[key] = { title, status: 'running', startedAt, ...msgTs(), runs: (previous?.runs ?? 0) + 1 };
    await this.save();
    // Audit writes are issued in order on one connection and awaited when the activation ends
    // (close), not one by one: the step's commands do not wait for Redis.
    this.audited({ type: 'step.start', cluster: this.cluster.name, jobId: this.jobId, step: key, title });
    if (rerun) this.deps.logger.warn({ jobId: this.jobId, step: key }, 'step was in flight during a crash; running it again');

    let result: T;
    try {
      result = await fn();
    } catch (err) {
      const shown = showError(err, logTo(this.deps.logger));
      const message = shown.text;
      // Recorded, so that a later activation (after a choice gate) replays the same failure.
      this.data.steps[key] = { title, status: 'failed', error: message, startedAt, endedAt: Date.now(), ...msgTs(), runs: (previous?.runs ?? 0) + 1 };
      await this.save();
      this.outbox.update(line, stepMessage(title, 'failed', message));
      this.audited({
        type: 'step.end', cluster: this.cluster.name, jobId: this.jobId, step: key, title, ok: false, durationMs: Date.now() - startedAt, error: shown.plain,
      });
      throw err;
    }
    const stored = (result === undefined ? null : JSON.parse(JSON.stringify(result))) as Json;
    const endedAt = Date.now();
    this.data.steps[key] = { title, status: 'done', result: stored, startedAt, endedAt, ...msgTs(), runs: (previous?.runs ?? 0) + 1 };
    await this.save();
    const detail = [options.describe?.(result), seconds(endedAt - startedAt)].filter(Boolean).join(' · ');
    this.outbox.update(line, stepMessage(title, 'done', detail));
    this.audited({
      type: 'step.end', cluster: this.cluster.name, jobId: this.jobId, step: key, title, ok: true, durationMs: endedAt - startedAt,
    });
    return result;
  }

  /** Names of the steps that finished, in order (for "what was and was not done"). */
  doneSteps(): string[] {
    return Object.values(this.data.steps)
      .filter((s) => s.status === 'done')
      .map((s) => s.title);
  }

  // ---- approvals ----------------------------------------------------------------------

  /**
   * Waits for a person's decision without holding a worker: the job is parked
   * as a BullMQ delayed job until the gate expires, and woken by the click.
   * Approved → returns. Rejected or expired → StopRunbook.
   */
  async approval(spec: GateSpec, options: { thenAwaitStart?: boolean } = {}): Promise<void> {
    const gate = await this.gate(spec, 'approval');
    this.applyDecision(gate);
    // Approved: a scheduled start (--at) and the maintenance windows come next (src/engine/start-waits.ts).
    if (options.thenAwaitStart !== false) await awaitStart(this);
  }

  /** Parks the job until `until` (a window opens, a scheduled start); an option's button ends it early. Returns the option picked or 'time'. */
  async wait(spec: GateSpec & { until: number; options: ChoiceOption[] }): Promise<string> {
    const gate = await this.gate({ ...spec, expiresAt: spec.until }, 'wait');
    return gate.decision === 'chosen' && gate.choice ? gate.choice : 'time';
  }

  /** A silent checkpoint: `fn` runs once; a later activation gets its first answer (decisions that must replay the same). */
  async memo<T extends Json>(fn: () => T): Promise<T> {
    const key = `m${++this.seq}`;
    const marks = (this.data.marks ??= {});
    if (key in marks) return marks[key] as T;
    marks[key] = fn();
    await this.save();
    return marks[key] as T;
  }

  /** `--now` approved, or "Start now" pressed outside a window: the windows no longer hold this job back. */
  get windowOverride(): boolean { return this.data.windowOverride === true; }
  async setWindowOverride(): Promise<void> { this.data.windowOverride = true; await this.save(); }

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

  /**
   * Asks people to pick one of several options (retry the step, roll back this
   * node, stop) and returns the id picked — or `onExpiry` if nobody answers in time.
   */
  async choice(spec: GateSpec & { options: ChoiceOption[]; onExpiry: string }): Promise<string> {
    const gate = await this.gate(spec, 'choice');
    return gate.decision === 'chosen' && gate.choice ? gate.choice : spec.onExpiry;
  }

  private async gate(spec: GateSpec & { options?: ChoiceOption[] }, kind: 'approval' | 'choice' | 'wait'): Promise<GateRecord> {
    const key = `g${++this.seq}`;
    let gate = this.data.gates[key];
    if (gate && gate.title !== spec.title) {
      throw new ReplayMismatchError(`gate ${key} was "${gate.title}" when first run, now "${spec.title}"`);
    }
    if (gate?.decision) return gate;
    await this.checkCancelled(spec.title);
    await this.lock.assertHeld();

    const parked = kind === 'wait' ? 'queued' : 'awaiting approval';
    // Also when the gate was checkpointed but its message never went up (a crash in between).
    if (!gate?.msgTs) {
      if (!gate) {
        const now = this.clock.now();
        gate = {
          title: spec.title, destructive: spec.destructive ?? false, createdAt: now, expiresAt: spec.expiresAt ?? now + this.cluster.policy.approvalTtl,
          kind, ...(spec.options ? { options: spec.options } : {}),
          // Binds the buttons to this gate for good: a button of another gate (or of a job
          // that had this id before Redis was reset) carries another nonce and does nothing.
          nonce: randomBytes(12).toString('base64url'),
          ...multiApproval(spec),
        };
        // Checkpoint the gate before its buttons exist, so a fast click finds it.
        this.data.gates[key] = gate;
        this.data.state = parked;
        if (kind === 'wait') this.data.summary = spec.what;
        await this.save();
      }
      const ref = await this.sayAndWait(
        gateMessage({ jobId: this.jobId, gateKey: key, gate, what: spec.what, why: spec.why, nodes: spec.nodes, plan: spec.plan, requester: this.request.user }),
      );
      gate.msgTs = ref.ts;
      await this.save();
      await this.updateParent();
    }

    let decision = await this.readDecision(key);
    if (!decision && this.clock.now() >= gate.expiresAt) {
      const expired: DecisionRecord = { decision: 'expired', by: 'expiry', at: this.clock.now() };
      // NX: a click that landed first wins over the expiry.
      await this.deps.redis.set(keys.decision(this.jobId, key), JSON.stringify(expired), 'EX', 30 * 86_400, 'NX');
      decision = await this.readDecision(key);
    }
    if (decision) {
      gate.decision = decision.decision;
      if (decision.choice) gate.choice = decision.choice;
      gate.by = decision.by;
      gate.at = decision.at;
      if (decision.approvers) gate.approvedBy = decision.approvers;
      if (this.data.state === parked) this.data.state = 'running';
      if (kind === 'wait') delete this.data.summary;
      await this.save();
      if (decision.decision === 'expired') {
        // A click is audited by the bot; an expiry has no clicker, so the worker records it.
        await this.deps.audit.record({ type: 'decision', cluster: this.cluster.name, jobId: this.jobId, gate: key, title: gate.title, user: EXPIRY_USER, decision: 'expired', accepted: true });
      }
      if (gate.msgTs) this.outbox.update({ channel: this.requireParent().channel, ts: gate.msgTs }, decidedGateMessage(this.jobId, gate));
      await this.updateParent();
      return gate;
    }

    if (this.data.state !== parked) {
      this.data.state = parked; // woken early (the clock moved, a stray promote): parked again
      await this.save();
      await this.updateParent();
    }
    // Park until the gate expires; a click (or cancel) promotes the job early.
    await this.job.moveToDelayed(realTime(this.clock, gate.expiresAt), this.token);
    const raced = (await this.deps.redis.exists(keys.decision(this.jobId, key), keys.cancel(this.jobId))) > 0;
    if (raced) await promoteQuietly(this.job);
    throw new DelayedError();
  }

  private applyDecision(gate: GateRecord): void {
    if (gate.decision === 'approved' || gate.decision === 'chosen') return;
    const done = this.doneSteps();
    const doneText = done.length > 0 ? `Done before it: ${done.join('; ')}.` : 'Nothing had been done on the nodes.';
    if (gate.decision === 'rejected') {
      throw new StopRunbook('rejected', `"${gate.title}" was rejected by <@${gate.by}>. ${doneText} Nothing after it was run.`);
    }
    throw new StopRunbook('expired', `"${gate.title}" expired with no decision. ${doneText} Nothing after it was run.`);
  }

  private async readDecision(gateKey: string): Promise<DecisionRecord | undefined> {
    const raw = await this.deps.redis.get(keys.decision(this.jobId, gateKey));
    return raw ? (JSON.parse(raw) as DecisionRecord) : undefined;
  }

  // ---- shutdown -----------------------------------------------------------------------

  /**
   * The process is stopping: between two steps, the job goes back to the queue (delayed by
   * HAND_BACK_DELAY_MS) with its checkpoints, and the next worker (another process, or this one
   * restarted) continues with `nextTitle`. Nothing is left half-done and nothing fails.
   */
  private async handBack(nextTitle: string): Promise<never> {
    await this.save();
    this.deps.logger.info({ jobId: this.jobId, next: nextTitle }, 'shutting down: job handed back before its next step');
    // A moment later, not at once: this closing worker's last fetch must not take it back.
    await this.job.moveToDelayed(Date.now() + HAND_BACK_DELAY_MS, this.token);
    throw new DelayedError();
  }

  // ---- cancel -------------------------------------------------------------------------

  private async checkCancelled(nextTitle: string): Promise<void> {
    const by = await this.deps.redis.get(keys.cancel(this.jobId));
    if (by === null) return;
    const done = this.doneSteps();
    throw new StopRunbook(
      'cancelled',
      `Cancelled by <@${by}> before "${nextTitle}". ${done.length > 0 ? `Finished steps: ${done.join('; ')}.` : 'No step had run.'}`,
    );
  }

  // ---- persistence and messages ---------------------------------------------------------

  private async save(): Promise<void> {
    // Always the full, current data (it replaces the stored object), and only by the lock holder.
    await this.lock.writeData(this.data);
  }

  private requireParent(): MessageRef {
    if (!this.data.parent) throw new Error('job has no parent message');
    return this.data.parent;
  }

  /** Queues the parent message's update (the newest state wins; it is shown after the thread's earlier messages). */
  async updateParent(): Promise<void> {
    if (this.lock.isLost) throw new LockLostError(`job ${this.jobId}: lock lost; not updating the parent message`);
    if (!this.data.parent) return;
    this.outbox.update(this.data.parent, parentMessage(this.jobId, this.data));
  }

  private onCommand(e: CommandEvent): void {
    this.audited({ type: 'command', cluster: this.cluster.name, jobId: this.jobId, ...e, error: e.error });
  }

  /** Issues an audit write now (XADDs keep their order on the connection); close() awaits them. */
  private audited(event: Parameters<EngineDeps['audit']['record']>[0]): void {
    this.pendingAudit.push(this.deps.audit.record(event));
  }
}
