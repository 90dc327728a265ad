import type { Button, ChatMessage } from '../chat/port.ts';
import { escapeMrkdwn } from '../util/mrkdwn.ts';
import type { GateRecord, JobData } from './job-data.ts';
import type { PlanStep } from './runbook.ts';

const STATE_ICON: Record<string, string> = {
  queued: '⏳',
  running: '▶️',
  'awaiting approval': '✋',
  succeeded: '✅',
  failed: '❌',
  rejected: '🚫',
  expired: '⌛',
  cancelled: '⏹️',
};

function time(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** The parent message: its plain text holds `job <id>` and the state (chat contract). */
export function parentMessage(jobId: string, data: JobData): ChatMessage {
  const r = data.request;
  const icon = STATE_ICON[data.state] ?? '';
  return {
    text: `job ${jobId} · ${r.verb} on ${r.cluster} · ${data.state}`,
    body: `${icon} *job ${jobId}* — \`${escapeMrkdwn(r.text)}\` on cluster *${r.cluster}*\nState: *${data.state}*${data.summary ? `\n${data.summary}` : ''}`,
    context: `Requested by <@${r.user}> at ${time(r.requestedAt)} · steps and approvals are in the thread`,
  };
}

export function renderPlan(plan: PlanStep[]): string {
  return plan
    .map((s, i) => {
      const where = s.node ? ` _(on ${s.node})_` : '';
      const danger = s.destructive ? ' ⚠️ destructive' : '';
      const cmds = s.commands.length > 0 ? `\n${s.commands.map((c) => `    \`${c}\``).join('\n')}` : '';
      return `${i + 1}. ${s.title}${where}${danger}${cmds}`;
    })
    .join('\n');
}

export function stepMessage(title: string, status: 'running' | 'done' | 'failed' | 'rerun', detail?: string): ChatMessage {
  const icon = { running: '⏳', done: '✅', failed: '❌', rerun: '🔁' }[status];
  const text = `${icon} ${title}${detail ? ` — ${detail}` : ''}`;
  return { text };
}

export interface GateView {
  jobId: string;
  gateKey: string;
  gate: GateRecord;
  what: string;
  why?: string;
  nodes?: string[];
  plan?: PlanStep[];
  requester: string;
}

/** A gate button's value: `<job>:<gate>:<nonce>[:<option>]` (the nonce binds it to this gate; see bot/decisions.ts). */
export function gateButtonValue(v: Pick<GateView, 'jobId' | 'gateKey' | 'gate'>, option?: string): string {
  return [v.jobId, v.gateKey, v.gate.nonce ?? '', ...(option ? [option] : [])].join(':');
}

export function gateMessage(v: GateView): ChatMessage {
  const lines = [`*${v.gate.destructive ? '⚠️ Destructive: ' : ''}${v.gate.title}*`, v.what];
  if (v.nodes && v.nodes.length > 0) lines.push(`Nodes: ${v.nodes.join(', ')}`);
  if (v.why) lines.push(`Why this needs approval: ${v.why}`);
  if (v.plan && v.plan.length > 0) lines.push(`Plan:\n${renderPlan(v.plan)}`);
  if ((v.gate.kind === 'choice' || v.gate.kind === 'wait') && v.gate.options) {
    const waiting = v.gate.kind === 'wait';
    lines.push(waiting ? `Parked until then (no worker is held); the button goes on early.` : `Expires at ${time(v.gate.expiresAt)}.`);
    return {
      text: `job ${v.jobId}: ${waiting ? 'waiting' : 'decision needed'} — ${v.gate.title}`,
      body: lines.join('\n'),
      buttons: v.gate.options.map((o) => ({
        label: o.label,
        actionId: 'mk8s.choose',
        value: gateButtonValue(v, o.id),
        ...(o.style ? { style: o.style } : {}),
        ...(o.destructive
          ? { confirm: { title: `${o.label}?`.slice(0, 100), text: `${v.gate.title} (job ${v.jobId}): ${o.label}.`.slice(0, 300), confirm: o.label.slice(0, 30), deny: 'Cancel' } }
          : {}),
      })),
    };
  }
  if (v.gate.binding) lines.push(`Binding: sha256 \`${v.gate.binding}\` — the job re-checks it when the last approval lands.`);
  if ((v.gate.approvals ?? 1) > 1) lines.push(approvalsLine(v.gate, v.requester));
  else lines.push(`Expires at ${time(v.gate.expiresAt)}. An approver other than <@${v.requester}> must decide.`);
  const value = gateButtonValue(v);
  const approve: Button = { label: 'Approve', actionId: 'mk8s.approve', value, style: 'primary' };
  if (v.gate.destructive) {
    approve.confirm = {
      title: 'Approve a destructive step?',
      text: `${v.gate.title} (job ${v.jobId}). This cannot be undone by the bot.`.slice(0, 300),
      confirm: 'Approve',
      deny: 'Cancel',
    };
  }
  const reject: Button = { label: 'Reject', actionId: 'mk8s.reject', value, style: 'danger' };
  return {
    text: `job ${v.jobId}: approval needed — ${v.gate.title}`,
    body: lines.join('\n'),
    buttons: [approve, reject],
  };
}

/** "1 of 2 approvals — <@bob> at …": who approved a multi-approver gate so far and who may still. */
export function approvalsLine(gate: GateRecord, requester: string): string {
  const needed = gate.approvals ?? 1;
  const given = gate.approvedBy ?? [];
  const who = given.map((a) => `<@${a.by}> at ${time(a.at)}`).join(', ');
  const excluded = [requester, ...given.map((a) => a.by)].map((u) => `<@${u}>`).join(', ');
  return `*${given.length} of ${needed} approvals*${who ? ` — approved by ${who}` : ''}. ${needed - given.length} more from different approvers (not ${excluded}) before it expires at ${time(gate.expiresAt)}.`;
}

/** A multi-approver gate after an approval that did not open it yet: the same message, with the count. */
export function partlyApprovedGateMessage(jobId: string, gateKey: string, gate: GateRecord, requester: string): ChatMessage {
  const view = gate.view ?? { what: gate.title };
  const msg = gateMessage({ jobId, gateKey, gate, what: view.what, why: view.why, nodes: view.nodes, plan: view.plan, requester });
  const given = gate.approvedBy?.length ?? 0;
  return { ...msg, text: `job ${jobId}: approval needed — ${gate.title} (${given} of ${gate.approvals ?? 1} approvals)` };
}

export function decidedGateMessage(jobId: string, gate: GateRecord): ChatMessage {
  const chosen = gate.options?.find((o) => o.id === gate.choice)?.label ?? gate.choice;
  const verdict =
    gate.kind === 'wait' && gate.decision === 'expired'
      ? '🕑 The time came; going on'
      : gate.decision === 'chosen'
      ? `➡️ ${chosen} — chosen by <@${gate.by}>`
      : gate.decision === 'approved'
      ? `✅ Approved by ${gate.approvedBy && gate.approvedBy.length > 1 ? gate.approvedBy.map((a) => `<@${a.by}>`).join(' and ') : `<@${gate.by}>`}`
      : gate.decision === 'rejected'
        ? `🚫 Rejected by <@${gate.by}>`
        : '⌛ Expired with no decision';
  return {
    text: `job ${jobId}: ${gate.title} — ${gate.decision === 'chosen' ? `chose ${chosen}` : gate.kind === 'wait' && gate.decision === 'expired' ? 'the time came' : (gate.decision ?? 'decided')}`,
    body: `*${gate.title}*\n${verdict} at ${time(gate.at ?? Date.now())}`,
  };
}
