/**
 * src/bot — the bot core, between chat and the queue: parses a command (src/commands), checks
 * RBAC (src/auth), then answers a read-only verb at once (read-verbs.ts, status-report.ts), prints a
 * plan for --dry-run, or queues the job (submit.ts); turns button clicks into decisions
 * (decisions.ts) and offers into new requests. It knows no Slack: chat surfaces call it through
 * src/chat/port.ts.
 */
import { WINDOWS_UPGRADE_ACTION } from '../engine/offers.ts';
import { windowsUpgradeFromJob } from './windows-upgrade-button.ts';
import type { ActionInput, BotCore, ChatMessage, CommandAnswer, CommandInput } from '../chat/port.ts';
import { mayRequest } from '../auth/rbac.ts';
import { wrongChannel } from '../commands/channel-rule.ts';
import { RequestError } from '../commands/errors.ts';
import { parseCommand, type ParsedCommand } from '../commands/parse.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText } from '../engine/context.ts';
import { logTo, showError } from '../errors/boundary.ts';
import { renderPlan } from '../engine/messages.ts';
import type { JobRequest, Json, PrecheckContext, VerbSpec } from '../engine/runbook.ts';
import { MicroK8sNode } from '../microk8s/node.ts';
import type { StoredAuditEvent } from '../audit/events.ts';
import type { HolderInfo, JobSummary } from '../queue/job-queue.ts';
import { SshPool } from '../ssh/pool.ts';
import { sshTargetFor } from '../ssh/target.ts';
import { auditedText } from './audit-text.ts';
import { cancelJob } from './cancel.ts';
import { rollbackFromJob } from './rollback-button.ts';
import { decide } from './decisions.ts';
import type { BotDeps } from './deps.ts';
import { addonsMessage, upgradeCniPreviewMessage } from './addons-read-verb.ts';
import { backupsMessage, snapProxyListMessage } from './ops-read-verbs.ts';
import { auditEvents, auditMessage, clustersMessage, JOBS_SHOWN, jobsMessage, statusMessage, type AuditArgs } from './read-verbs.ts';
import { buildHome, homeText, publishHome } from './home.ts';
import { startTiming, timingNote } from './start-timing.ts';
import { busyMessage, submitJob } from './submit.ts';

/**
 * A dry run that reads the nodes first (read-only), then shows what it found and the plan; over the
 * process's warm pool when there is one (a pool of its own otherwise, closed after).
 */
async function liveDryRun(spec: VerbSpec, parsed: ParsedCommand, cluster: ClusterConfig, warm: SshPool | undefined): Promise<ChatMessage> {
  const pool = warm ?? new SshPool({});
  try {
    const found = await spec.dryRun!(parsed.args, { cluster, node: (name) => new MicroK8sNode(pool.shell(sshTargetFor(cluster, name))) });
    return { text: `Dry run of \`${parsed.text}\` on ${cluster.name}: nothing was changed.`, body: `${found.summary}\n*Plan:*\n${renderPlan(found.plan)}` };
  } catch (err) {
    return { text: `Dry run of \`${parsed.text}\` on ${cluster.name}: ${errorText(err)}` };
  } finally {
    if (pool !== warm) pool.closeAll();
  }
}

/** How long an ack waits for a precheck by default (a warm connection answers in a few ms). */
export const PRECHECK_ACK_MS = 250;
/**
 * …and when its precheck would open connections (some node of the cluster has none in the warm
 * pool) while other commands wait for their acks: not at all. Handshakes cost tens of ms of CPU
 * that every ack of a burst would wait behind; the verdict follows on response_url instead. A
 * lone command still gets its verdict in the ack when the handshakes are quick.
 */
export const PRECHECK_COLD_ACK_MS = 0;

/** How long this command's ack waits for its precheck (the two budgets above, or the deployment's own). */
export function precheckAckBudget(o: { cold: boolean; othersWaiting: boolean; ackMs?: number; coldAckMs?: number }): number {
  const warm = o.ackMs ?? PRECHECK_ACK_MS;
  return o.cold && o.othersWaiting ? Math.min(warm, o.coldAckMs ?? PRECHECK_COLD_ACK_MS) : warm;
}

/** The promise's value if it settles within ms (a rejection counts as settled: it rethrows on await). */
async function within<T>(p: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([p.then((value) => ({ done: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads started alongside the rate limit's check (BotCore.prefetch). */
interface Prefetched {
  holder?: Promise<HolderInfo | undefined>;
  jobs?: Promise<JobSummary[]>;
  audit?: Promise<StoredAuditEvent[]>;
}

/** `audit [n]` / `audit job <id>`: what to read. */
function auditArgs(parsed: ParsedCommand): AuditArgs {
  return { count: typeof parsed.args.n === 'number' ? parsed.args.n : 20, ...(typeof parsed.args.job === 'string' ? { job: parsed.args.job } : {}) };
}

function ephemeral(text: string, body?: string): CommandAnswer {
  return { ack: { text, body }, visibility: 'ephemeral' };
}

/**
 * The bot core: turns a chat command into an answer, a queued job or a clear
 * refusal, and handles button clicks. Chat adapters (Slack, console) call it.
 */
export class Bot implements BotCore {
  /** Commands of this process not acked yet (this one included). */
  private answering = 0;

  constructor(private readonly deps: BotDeps) {}

  async handleCommand(input: CommandInput): Promise<CommandAnswer> {
    const started = Date.now();
    let verb = 'invalid';
    this.answering++;
    try {
      // The rate limit first: nothing runs, is written or is answered before it passed. Its
      // round trip overlaps the parse and the one read the command needs first (a read only;
      // a flood from one user costs at most two Redis calls each, and a flood of `jobs` shares one).
      const taken = this.deps.rateLimiter.take(input.user);
      let parsed: ParsedCommand | undefined;
      let parseError: unknown;
      let early: Prefetched = {};
      try {
        parsed = parseCommand(input.text, { channel: input.channel, inventory: this.deps.inventory, registry: this.deps.registry });
        early = this.prefetch(parsed);
      } catch (err) {
        parseError = err;
      }
      const rate = await taken;
      if (!rate.ok) {
        verb = 'rate-limited';
        if (rate.first) this.refused(input, undefined, `rate limit: more than ${rate.limit} commands in a minute (later ones this minute are not audited)`);
        else this.deps.metrics.requests.inc({ verb: 'refused', outcome: 'rate-limited' });
        return ephemeral(`Slow down: you sent more than ${rate.limit} commands in the last minute (the limit per user; MK8S_USER_COMMANDS_PER_MINUTE). Try again in ${rate.retryInSeconds} s. Nothing was run.`);
      }
      if (parsed === undefined) throw parseError;
      verb = parsed.verb;
      const elsewhere = wrongChannel(parsed, input.channel);
      if (elsewhere) {
        this.refused(input, parsed.cluster?.name, elsewhere);
        return ephemeral(elsewhere);
      }
      const allowed = await mayRequest({ user: input.user, spec: parsed.spec, cluster: parsed.cluster, inventory: this.deps.inventory, members: this.deps.members });
      if (!allowed.ok) {
        this.refused(input, parsed.cluster?.name, allowed.reason);
        return ephemeral(`Not allowed: ${allowed.reason}.`);
      }
      return await this.dispatch(parsed, input, early);
    } catch (err) {
      const shown = showError(err, logTo(this.deps.logger));
      if (err instanceof RequestError) {
        this.refused(input, undefined, err.message);
        return ephemeral(shown.text);
      }
      return ephemeral(`${shown.ref ? 'Something went wrong handling that command: ' : ''}${shown.text}. Nothing was queued.`);
    } finally {
      this.answering--;
      this.deps.metrics.commandSeconds.observe({ verb }, (Date.now() - started) / 1000);
    }
  }

  /**
   * Audits a refusal. Not awaited: the event is logged now and goes to Redis with this turn's
   * batch (AuditLog.record, sent within this turn of the event loop); the answer does not wait for Redis's reply.
   */
  private refused(input: CommandInput, cluster: string | undefined, reason: string): void {
    this.deps.metrics.requests.inc({ verb: 'refused', outcome: 'refused' });
    void this.deps.audit.record({ type: 'request', cluster, user: input.user, text: auditedText(input.text), outcome: 'refused', reason: auditedText(reason) });
  }

  /**
   * Starts the first read a command will make, while the rate limit is checked: who holds the
   * cluster (an action's busy check) or its job list (`jobs`). Reads only; unused when the rate
   * limit or RBAC refuses the command (a failure surfaces where the answer awaits it).
   */
  private prefetch(parsed: ParsedCommand): Prefetched {
    const cluster = parsed.cluster;
    if (!cluster) return {};
    const handled = <T>(p: Promise<T>): Promise<T> => {
      p.catch(() => undefined);
      return p;
    };
    if (parsed.verb === 'jobs') return { jobs: handled(this.deps.queue.list(JOBS_SHOWN, cluster.name)) };
    if (parsed.verb === 'audit') return { audit: handled(auditEvents(this.deps, cluster, auditArgs(parsed))) };
    const spec = this.deps.runbooks.get(parsed.verb)?.spec;
    if (spec && !parsed.dryRun && spec.hold !== false) return { holder: handled(this.deps.queue.holder(cluster.name)) };
    return {};
  }

  private async dispatch(parsed: ParsedCommand, input: CommandInput, early: Prefetched): Promise<CommandAnswer> {
    const { deps } = this;
    const cluster = parsed.cluster;
    switch (parsed.verb) {
      case 'help':
        return ephemeral('mk8s help', deps.registry.helpText(typeof parsed.args.verb === 'string' ? parsed.args.verb : undefined));
      case 'clusters':
        return { ack: clustersMessage(deps.inventory), visibility: 'ephemeral' };
      case 'home': {
        const view = await buildHome(deps, input.user);
        return ephemeral(view.title, homeText(view));
      }
    }
    if (!cluster) throw new RequestError(`\`${parsed.verb}\` needs a cluster`, 'cluster');
    switch (parsed.verb) {
      case 'status':
        return { ack: { text: `Reading the state of ${cluster.name}…` }, visibility: 'ephemeral', followUp: () => statusMessage(deps, cluster, { drift: parsed.args.drift === true }) };
      case 'jobs':
        return { ack: await jobsMessage(deps, cluster, early.jobs), visibility: 'ephemeral' };
      case 'audit':
        return { ack: await auditMessage(deps, cluster, auditArgs(parsed), early.audit), visibility: 'ephemeral' };
      case 'cancel':
        return { ack: await cancelJob(deps, cluster, typeof parsed.args.job === 'string' ? parsed.args.job : JSON.stringify(parsed.args.job), input.user), visibility: 'ephemeral' };
      case 'snap-proxy list':
        return { ack: { text: `Reading the Snap Store Proxy of ${cluster.name}…` }, visibility: 'ephemeral', followUp: () => snapProxyListMessage(cluster, deps.ssh) };
      case 'backups':
        return { ack: await backupsMessage(deps.backupDir, cluster), visibility: 'ephemeral' };
      case 'addons':
        return { ack: { text: `Reading the add-ons and the CNI of ${cluster.name}…` }, visibility: 'ephemeral', followUp: () => addonsMessage(cluster, deps.ssh) };
      case 'upgrade-cni':
        // Its dry run reads the nodes to show the new manifest as a diff (still read-only).
        if (parsed.dryRun && parsed.args.restore !== true) {
          void deps.audit.record({ type: 'request', cluster: cluster.name, user: input.user, text: parsed.text, outcome: 'answered', reason: 'dry run' });
          return { ack: { text: `Building the new Calico manifest of ${cluster.name} (dry run)…` }, visibility: 'ephemeral', followUp: () => upgradeCniPreviewMessage(cluster, deps.ssh) };
        }
        break;
    }
    const runbook = deps.runbooks.get(parsed.verb);
    if (!runbook) throw new RequestError(`\`${parsed.verb}\` has no runbook yet`, 'unknown-verb');
    return this.mutating(runbook.spec, parsed, cluster, input, early.holder);
  }

  private async mutating(spec: VerbSpec, parsed: ParsedCommand, cluster: ClusterConfig, input: CommandInput, holderRead?: Promise<HolderInfo | undefined>): Promise<CommandAnswer> {
    const { deps } = this;
    const plan = spec.plan(parsed.args, cluster);
    const timing = startTiming(parsed, cluster, deps.clock.now());
    if (parsed.dryRun) {
      void deps.audit.record({ type: 'request', cluster: cluster.name, user: input.user, text: parsed.text, outcome: 'answered', reason: 'dry run' });
      if (spec.dryRun) {
        return { ack: { text: `Dry run of \`${parsed.text}\` on ${cluster.name}: reading the nodes (read-only)…` }, visibility: 'ephemeral', followUp: () => liveDryRun(spec, parsed, cluster, deps.ssh) };
      }
      return ephemeral(`Dry run of \`${parsed.text}\` on ${cluster.name}: nothing will run.`, `${timingNote(timing, cluster)}Plan:\n${renderPlan(plan)}`);
    }
    // Refuse a busy cluster before looking at any node (a verb that takes no hold runs alongside).
    const takesHold = spec.hold !== false;
    const holder = takesHold ? await (holderRead ?? deps.queue.holder(cluster.name)) : undefined;
    if (holder) {
      this.refused(input, cluster.name, `busy: job ${holder.jobId}`);
      return ephemeral(busyMessage(cluster.name, holder));
    }
    const queue = async (problem: string | undefined): Promise<ChatMessage> => {
      if (problem) {
        this.refused(input, cluster.name, problem);
        return { text: `${problem} Nothing was queued.` };
      }
      const request: JobRequest = { verb: spec.verb, cluster: cluster.name, args: parsed.args, text: parsed.text, user: input.user, channel: input.channel, requestedAt: Date.now(), ...timing };
      const result = await submitJob(deps, cluster, request, takesHold);
      const note = result.ok && takesHold ? timingNote(timing, cluster, deps.clock.now()).trim() : '';
      return note ? { ...result.ack, text: `${result.ack.text} ${note}` } : result.ack;
    };
    if (!spec.precheck) return { ack: await queue(undefined), visibility: 'ephemeral' };
    // The ack never waits on SSH for long: past its budget it says "checking…" and the verdict follows.
    const cold = deps.ssh !== undefined && cluster.nodes.some((n) => !deps.ssh!.isWarm(sshTargetFor(cluster, n.name)));
    const budget = precheckAckBudget({ cold, othersWaiting: this.answering > 1, ackMs: deps.precheckAckMs, coldAckMs: deps.precheckColdAckMs });
    // No budget (cold, in a burst): the check starts with the follow-up, once the burst's acks are
    // out (ack-first.ts), so its handshakes do not run while those acks wait.
    const check = budget > 0 ? this.precheck(spec, parsed.args, cluster) : undefined;
    const quick = check ? await within(check, budget) : { done: false as const };
    if (quick.done) return { ack: await queue(quick.value), visibility: 'ephemeral' };
    return {
      ack: { text: `Checking ${cluster.name} before queuing \`${parsed.text}\`… the answer follows here.` },
      visibility: 'ephemeral',
      followUp: async () => queue(await (check ?? this.precheck(spec, parsed.args, cluster))),
    };
  }

  /** A read-only look at the nodes, over the warm pool (bounded by precheckTimeoutMs). */
  private async precheck(spec: VerbSpec, args: Record<string, Json>, cluster: ClusterConfig): Promise<string | undefined> {
    const pool = this.deps.ssh ?? new SshPool({});
    const budget = this.deps.precheckTimeoutMs;
    const ops = (node: string) => new MicroK8sNode(pool.shell(sshTargetFor(cluster, node), { commandTimeoutMs: budget }));
    const ctx: PrecheckContext = {
      cluster,
      snap: (node) => ops(node).snap(),
      nodes: (node) => ops(node).nodes(),
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`Could not check the cluster within ${budget} ms.`), budget);
      });
      return await Promise.race([spec.precheck!(args, ctx), timeout]);
    } catch (err) {
      return `Could not check the cluster: ${errorText(err)}.`;
    } finally {
      clearTimeout(timer);
      if (pool !== this.deps.ssh) pool.closeAll();
    }
  }

  async homeOpened(user: string): Promise<void> {
    await publishHome(this.deps, user);
  }

  async handleAction(input: ActionInput): Promise<ChatMessage | undefined> {
    try {
      switch (input.actionId) {
        case 'mk8s.approve':
          return await decide(this.deps, input, 'approved');
        case 'mk8s.reject':
          return await decide(this.deps, input, 'rejected');
        case 'mk8s.choose':
          return await decide(this.deps, input, 'chosen');
        case 'mk8s.rollback':
          return await rollbackFromJob(this.deps, input);
        case WINDOWS_UPGRADE_ACTION:
          return await windowsUpgradeFromJob(this.deps, input);
        case 'mk8s.run':
          return await this.runFromButton(input);
        default:
          return { text: `Unknown action ${input.actionId.slice(0, 40)}; nothing changed.` };
      }
    } catch (err) {
      const shown = showError(err, logTo(this.deps.logger));
      return { text: `${shown.ref ? 'Something went wrong handling that click: ' : ''}${shown.text}; nothing changed.` };
    }
  }

  /**
   * A watch alert's "next safe action" button: the command it names, exactly as if the
   * clicker had typed it in that channel (same parsing, same RBAC, same refusals).
   */
  private async runFromButton(input: ActionInput): Promise<ChatMessage> {
    if (input.value.length > 200) return { text: 'That button does not name a command; nothing changed.' };
    const answer = await this.handleCommand({ user: input.user, channel: input.channel, text: input.value });
    return answer.followUp ? await answer.followUp() : answer.ack;
  }
}
