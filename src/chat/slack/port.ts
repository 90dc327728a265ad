/**
 * The ChatPort over Slack's Web API.
 *
 *   const port = createSlackPort({ botToken, apiUrl: env.SLACK_API_URL, logger });
 *   const ref = await port.post(channel, { text: 'job 42 queued' });
 *   await port.post(channel, { text: 'step 1' }, ref.ts);   // thread reply
 *
 * `createSlackPort` needs nothing but a bot token, so a worker-only process
 * (which receives no Slack requests) can post and update job messages.
 * Errors name the Slack method and Slack's error code, never the token.
 */
import { basename } from 'node:path';
import { webApi } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import type { ChatMessage, ChatPort, HomeView, MessageRef } from '../port.ts';
import { renderHome } from './home.ts';
import { boltLogger, field, secretScrubber, type Scrub } from './logger.ts';
import { renderMessage } from './render.ts';

export type SlackWebClient = InstanceType<typeof webApi.WebClient>;

export interface SlackPortOptions {
  /** How long a usergroup's member list is reused, default 60 s. */
  usergroupCacheMs?: number;
  /** Scrubs secrets out of error messages; default: Slack token shapes. */
  scrub?: Scrub;
  now?: () => number;
  /** How often one call waits out a 429's Retry-After and tries again (default 5). */
  rateLimitRetries?: number;
}

/** A Web API call failed. `code` is Slack's error string (`channel_not_found`) when it gave one. */
export class SlackApiError extends Error {
  override name = 'SlackApiError';
  constructor(
    readonly method: string,
    readonly code: string,
  ) {
    super(`Slack ${method} failed: ${code}`);
  }
}

/** Seconds Slack asked us to wait (WebAPIRateLimitedError, thrown with rejectRateLimitedCalls), or undefined. */
function retryAfterSeconds(err: unknown): number | undefined {
  if (field(err, 'code') !== 'slack_webapi_rate_limited_error') return undefined;
  const s = field(err, 'retryAfter');
  return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? s : 1;
}

function slackErrorCode(err: unknown, scrub: Scrub): string {
  const slackError = field(err, 'data', 'error');
  if (typeof slackError === 'string') return slackError;
  const code = field(err, 'code');
  const message = err instanceof Error ? err.message : String(err);
  return scrub(typeof code === 'string' ? `${code}: ${message}` : message);
}

/** How long after a 429 the port still says it is rate limited (Slack counts its limits per minute). */
const RATE_LIMIT_MEMORY_MS = 60_000;

export class SlackChatPort implements ChatPort {
  private readonly groups = new Map<string, { at: number; members: Promise<string[]> }>();
  private readonly cacheMs: number;
  private readonly scrub: Scrub;
  private readonly now: () => number;
  private readonly rateLimitRetries: number;
  private limitedUntil = 0;

  constructor(
    readonly client: SlackWebClient,
    options: SlackPortOptions = {},
  ) {
    this.cacheMs = options.usergroupCacheMs ?? 60_000;
    this.scrub = options.scrub ?? secretScrubber([]);
    this.now = options.now ?? Date.now;
    this.rateLimitRetries = options.rateLimitRetries ?? 5;
  }

  /**
   * One Web API call. A 429 waits out its own Retry-After and tries again (the WebClient is
   * built with rejectRateLimitedCalls, so one limited method or channel never pauses the others).
   */
  private async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const wait = retryAfterSeconds(err);
        if (wait === undefined || attempt >= this.rateLimitRetries) throw new SlackApiError(method, wait === undefined ? slackErrorCode(err, this.scrub) : 'ratelimited');
        this.limitedUntil = Math.max(this.limitedUntil, this.now() + wait * 1000);
        await new Promise((r) => setTimeout(r, wait * 1000));
      }
    }
  }

  /** A 429's Retry-After is running, or ran out less than a minute ago (the outbox then merges step lines). */
  rateLimited(): boolean {
    return this.now() < this.limitedUntil + RATE_LIMIT_MEMORY_MS;
  }

  async post(channel: string, message: ChatMessage, threadTs?: string): Promise<MessageRef> {
    const { text, blocks } = renderMessage(message);
    const args = {
      channel,
      text,
      blocks,
      unfurl_links: false,
      unfurl_media: false,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    };
    // oxlint-disable-next-line unicorn/require-post-message-target-origin -- Slack's chat.postMessage, not window.postMessage
    const res = await this.call('chat.postMessage', () => this.client.chat.postMessage(args));
    if (!res.ts) throw new SlackApiError('chat.postMessage', 'no ts in response');
    return { channel: res.channel ?? channel, ts: res.ts };
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    const { text, blocks } = renderMessage(message);
    await this.call('chat.update', () => this.client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks }));
  }

  async ephemeral(channel: string, user: string, message: ChatMessage): Promise<void> {
    const { text, blocks } = renderMessage(message);
    await this.call('chat.postEphemeral', () => this.client.chat.postEphemeral({ channel, user, text, blocks }));
  }

  async uploadFile(channel: string, threadTs: string, path: string, title: string): Promise<void> {
    await this.call('files.uploadV2', () =>
      this.client.files.uploadV2({ channel_id: channel, thread_ts: threadTs, file: path, filename: basename(path), title }),
    );
  }

  async publishHome(user: string, view: HomeView): Promise<void> {
    const rendered = renderHome(view);
    await this.call('views.publish', () => this.client.views.publish({ user_id: user, view: rendered }));
  }

  usergroupMembers(groupId: string): Promise<string[]> {
    const hit = this.groups.get(groupId);
    if (hit && this.now() - hit.at < this.cacheMs) return hit.members;
    const members = this.call('usergroups.users.list', () => this.client.usergroups.users.list({ usergroup: groupId })).then(
      (res) => res.users ?? [],
    );
    this.groups.set(groupId, { at: this.now(), members });
    // A failure is not cached: the next call asks Slack again.
    members.catch(() => {
      if (this.groups.get(groupId)?.members === members) this.groups.delete(groupId);
    });
    return members;
  }
}

export interface CreateSlackPortOptions {
  botToken: string;
  /** SLACK_API_URL; default Slack's own. */
  apiUrl?: string;
  /** WebClient retries on network errors and 429s; default Slack's policy (about 30 min), tests pass 0. */
  retries?: number;
  logger?: PinoLogger;
  usergroupCacheMs?: number;
}

/** WebClient options shared by the port and the Bolt app. */
export function webClientOptions(opts: { apiUrl?: string; retries?: number }): {
  slackApiUrl?: string;
  retryConfig?: { retries: number };
  rejectRateLimitedCalls: true;
} {
  return {
    // 429s come back to SlackChatPort.call, which waits per call instead of pausing the whole client.
    rejectRateLimitedCalls: true,
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    ...(opts.retries !== undefined ? { retryConfig: { retries: opts.retries } } : {}),
  };
}

/** A standalone ChatPort (no receiver): for worker-only processes and scripts. */
export function createSlackPort(opts: CreateSlackPortOptions): SlackChatPort {
  const scrub = secretScrubber([opts.botToken]);
  const client = new webApi.WebClient(opts.botToken, {
    ...webClientOptions(opts),
    ...(opts.logger ? { logger: boltLogger(opts.logger.child({ component: 'slack-web' }), scrub) } : {}),
  });
  return new SlackChatPort(client, {
    scrub,
    ...(opts.usergroupCacheMs !== undefined ? { usergroupCacheMs: opts.usergroupCacheMs } : {}),
  });
}
