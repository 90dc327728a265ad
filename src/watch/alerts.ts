/**
 * Alerts: one message in the cluster's channel per problem, kept while the problem
 * lasts (not repeated), a reply in its thread when its text changes, and a "resolved"
 * reply when it clears. Stored per cluster in Redis (`keys.alerts`); every opening and
 * resolution is an audit event.
 */
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Button, ChatMessage, ChatPort } from '../chat/port.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { keys } from '../queue/keys.ts';
import type { Problem } from './problems.ts';

export interface OpenAlert {
  key: string;
  severity: Problem['severity'];
  text: string;
  action: string;
  channel: string;
  ts: string;
  since: number;
}

export interface AlertDeps {
  redis: Redis;
  chat: ChatPort;
  audit: AuditLog;
  /** Verbs the bot knows: an action whose verb is unknown is shown as text, without a button. */
  knownVerb(verb: string): boolean;
}

/** Slack mrkdwn control characters in untrusted text (node output), and a cap on its size. */
export function safe(text: string, max = 1500): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function actionButton(cluster: ClusterConfig, action: string, deps: AlertDeps): Button[] {
  const verb = action.split(' ')[0] ?? '';
  if (!deps.knownVerb(verb)) return [];
  return [{ label: action.slice(0, 75), actionId: 'mk8s.run', value: `${action} --cluster ${cluster.name}` }];
}

export function alertMessage(cluster: ClusterConfig, p: Pick<Problem, 'severity' | 'text' | 'action'>, deps: AlertDeps): ChatMessage {
  const icon = p.severity === 'critical' ? '🚨' : '⚠️';
  return {
    text: `${icon} watch · ${cluster.name}: ${safe(p.text, 300)}`,
    body: `${icon} *${cluster.name}*: ${safe(p.text)}\nNext safe action: \`${p.action} --cluster ${cluster.name}\``,
    context: 'Posted by the watch (read-only checks). A reply in this thread says when it clears.',
    buttons: actionButton(cluster, p.action, deps),
  };
}

export async function openAlerts(redis: Redis, cluster: string): Promise<OpenAlert[]> {
  const raw = await redis.hgetall(keys.alerts(cluster));
  const out: OpenAlert[] = [];
  for (const json of Object.values(raw)) {
    try {
      out.push(JSON.parse(json) as OpenAlert);
    } catch {
      // an unreadable entry is dropped at the next reconcile
    }
  }
  return out.toSorted((a, b) => a.since - b.since);
}

/** Posts new problems, notes changed ones, resolves cleared ones. Returns whether anything changed. */
export async function reconcileAlerts(deps: AlertDeps, cluster: ClusterConfig, problems: Problem[], now: number): Promise<boolean> {
  const key = keys.alerts(cluster.name);
  const open = new Map((await openAlerts(deps.redis, cluster.name)).map((a) => [a.key, a]));
  let changed = false;
  // Cleared problems first, so that a thread reads "resolved" before a new alert that follows from the fix.
  const current = new Set(problems.map((p) => p.key));
  for (const gone of [...open.values()].filter((a) => !current.has(a.key))) {
    changed = true;
    await deps.redis.hdel(key, gone.key);
    await deps.audit.record({ type: 'alert', cluster: cluster.name, key: gone.key, state: 'resolved', text: gone.text.slice(0, 300) });
    await deps.chat.post(gone.channel, { text: `✅ Resolved: ${safe(gone.text, 300)} — cleared at the watch's check of ${new Date(now).toISOString().slice(0, 16).replace('T', ' ')} UTC.` }, gone.ts);
  }
  for (const p of problems) {
    const existing = open.get(p.key);
    if (existing && existing.text === p.text) continue; // the same problem: not repeated
    changed = true;
    if (existing) {
      await deps.chat.post(existing.channel, { text: `Still open, now: ${safe(p.text)}` }, existing.ts);
      await deps.redis.hset(key, p.key, JSON.stringify({ ...existing, text: p.text, action: p.action }));
      continue;
    }
    await deps.audit.record({ type: 'alert', cluster: cluster.name, key: p.key, state: 'open', text: p.text.slice(0, 300) });
    const ref = await deps.chat.post(cluster.channel, alertMessage(cluster, p, deps));
    const alert: OpenAlert = { key: p.key, severity: p.severity, text: p.text, action: p.action, channel: ref.channel, ts: ref.ts, since: now };
    await deps.redis.hset(key, p.key, JSON.stringify(alert));
  }
  return changed;
}
