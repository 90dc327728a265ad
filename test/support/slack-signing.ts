/**
 * Requests as Slack sends them to /slack/events, signed with a signing secret.
 *
 *   const res = await signedRequest(`${base}/slack/events`,
 *     slashCommandBody({ user: 'U1', channel: 'C1', text: 'status', responseUrl: fake.responseUrl('r1') }),
 *     'test-signing-secret');
 *   res.status;            // 200; await res.json() is the ack body
 *
 *   await signedRequest(url, blockActionsBody({ user: 'U2', channel: 'C1', messageTs: msg.ts,
 *     actionId: 'mk8s.approve', value: button.value, responseUrl: fake.responseUrl('r2') }), secret);
 *
 * API
 * - `signedRequest(url, body, secret, { timestamp?, badSignature? })` → fetch Response.
 *   `body` is a raw string (JSON if it starts with `{`, else form-encoded) or a
 *   record of form fields. `timestamp` (unix seconds) defaults to now; an old one
 *   makes a stale request. `badSignature` signs with a wrong secret.
 * - `signature(secret, timestamp, rawBody)` → the `v0=…` header value.
 * - `slashCommandBody(...)` → form fields of a slash command (also the Socket Mode
 *   `slash_commands` envelope payload, which carries the same fields as JSON).
 * - `blockActionsPayload(...)` → a block_actions payload object (also the Socket
 *   Mode `interactive` envelope payload); `blockActionsBody(...)` → `{ payload: <its JSON> }`,
 *   the form Slack POSTs for interactivity.
 */
import { createHmac } from 'node:crypto';

export function signature(secret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SignOptions {
  /** Unix seconds; default now. */
  timestamp?: number;
  /** Sign with the wrong secret. */
  badSignature?: boolean;
}

export async function signedRequest(
  url: string,
  body: string | Record<string, string>,
  secret: string,
  opts: SignOptions = {},
): Promise<Response> {
  const raw = typeof body === 'string' ? body : new URLSearchParams(body).toString();
  const json = typeof body === 'string' && body.trimStart().startsWith('{');
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const sig = signature(opts.badSignature ? `${secret}-wrong` : secret, timestamp, raw);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': sig,
    },
    body: raw,
  });
}

const TEAM = { id: 'T0FAKE', domain: 'fake' };
const APP_ID = 'A0FAKE';

export interface SlashCommandInput {
  user: string;
  channel: string;
  text: string;
  responseUrl: string;
  command?: string;
}

export function slashCommandBody(input: SlashCommandInput): Record<string, string> {
  return {
    token: 'deprecated-verification-token',
    team_id: TEAM.id,
    team_domain: TEAM.domain,
    channel_id: input.channel,
    channel_name: 'ops',
    user_id: input.user,
    user_name: input.user.toLowerCase(),
    command: input.command ?? '/mk8s',
    text: input.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: `${Date.now()}.1.fake`,
  };
}

export interface BlockActionInput {
  user: string;
  channel: string;
  /** ts of the message carrying the button. */
  messageTs: string;
  actionId: string;
  value: string;
  responseUrl: string;
  /** Set when the button sits in a thread reply. */
  threadTs?: string;
  label?: string;
}

export function blockActionsPayload(input: BlockActionInput): Record<string, unknown> {
  const thread = input.threadTs ? { thread_ts: input.threadTs } : {};
  return {
    type: 'block_actions',
    user: { id: input.user, username: input.user.toLowerCase(), name: input.user.toLowerCase(), team_id: TEAM.id },
    api_app_id: APP_ID,
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: input.messageTs, channel_id: input.channel, is_ephemeral: false, ...thread },
    trigger_id: `${Date.now()}.1.fake`,
    team: TEAM,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channel, name: 'ops' },
    message: { type: 'message', user: 'U0BOT', bot_id: 'B0BOT', ts: input.messageTs, text: '', blocks: [], ...thread },
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: input.actionId,
        block_id: 'fake-block',
        text: { type: 'plain_text', text: input.label ?? input.actionId, emoji: true },
        value: input.value,
        action_ts: (Date.now() / 1000).toFixed(6),
      },
    ],
  };
}

export function blockActionsBody(input: BlockActionInput): Record<string, string> {
  return { payload: JSON.stringify(blockActionsPayload(input)) };
}

/** An Events API `event_callback` body (JSON) carrying `event`, e.g. `{ type: 'app_home_opened', user, tab: 'home' }`. */
export function eventCallbackBody(event: Record<string, unknown>): string {
  return JSON.stringify({
    token: 'legacy-verification-token-unused',
    team_id: TEAM.id,
    api_app_id: APP_ID,
    event: { event_ts: `${Math.floor(Date.now() / 1000)}.000100`, ...event },
    type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
  });
}
