/**
 * The fake Slack's workspace (fake-slack.ts): what it records — every Web API call, the
 * messages as they are now, ephemerals, uploads, response-URL bodies, Home tabs — and the Web
 * API methods that change it (chat.postMessage/update/postEphemeral, views.publish,
 * usergroups.users.list, users.info, the two-step file upload, apps.connections.open).
 */
import type { FakeCall, FakeEphemeral, FakeMessage, FakeResponse, FakeSlackOptions, FakeUpload } from '../fake-slack.ts';
import { buttonsOf, homeBlocksValid, isRecord, strOf } from './blocks.ts';

type Failure = { error: string; match?: (args: Record<string, unknown>) => boolean };

export class FakeWorkspace {
  readonly botUserId: string;
  readonly botId: string;
  readonly calls: FakeCall[] = [];
  /** Calls answered 429 (rate limited); they changed nothing. */
  readonly limited: FakeCall[] = [];
  readonly responses: FakeResponse[] = [];
  readonly uploads: FakeUpload[] = [];
  readonly pendingUploads = new Map<string, { filename: string; bytes?: Buffer }>();
  readonly stored = new Map<string, FakeMessage>(); // key channel:ts
  readonly ephemerals: FakeEphemeral[] = [];
  readonly usergroups: Map<string, string[]>;
  readonly failures = new Map<string, Failure[]>();
  readonly homes = new Map<string, { view: { type: string; blocks: unknown[] }; count: number }>();
  /** The HTTP server's base URL (upload URLs) and the Socket Mode base, once it listens. */
  base = '';
  wsBase = '';
  private tsCounter = 0;
  private fileCounter = 0;
  private ticket = 0;

  constructor(private readonly options: FakeSlackOptions) {
    this.botUserId = options.botUserId ?? 'U0BOT';
    this.botId = options.botId ?? 'B0BOT';
    this.usergroups = new Map(Object.entries(options.usergroups ?? {}));
  }

  /** Every message posted, in ts order, as it is now. */
  messages(): FakeMessage[] {
    return [...this.stored.values()].toSorted((a, b) => Number(a.ts) - Number(b.ts));
  }

  failNext(method: string, error: string, match?: (args: Record<string, unknown>) => boolean): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), { error, match }]);
  }

  private nextTs(): string {
    this.tsCounter += 100;
    const tsCounter = this.tsCounter;
    return `${1700000000 + Math.floor(tsCounter / 1_000_000)}.${String(tsCounter % 1_000_000).padStart(6, '0')}`;
  }

  /** One Web API call's answer (the call is recorded by the HTTP side). */
  call(method: string, args: Record<string, unknown>, token: string | undefined): Record<string, unknown> {
    const { options, botUserId, botId, failures, stored, ephemerals, homes, usergroups, pendingUploads, uploads } = this;
    if (!token) return { ok: false, error: 'not_authed' };
    if (options.tokens && !options.tokens.includes(token)) return { ok: false, error: 'invalid_auth' };
    const queued = failures.get(method) ?? [];
    const failing = queued.findIndex((f) => !f.match || f.match(args));
    if (failing >= 0) return { ok: false, error: queued.splice(failing, 1)[0]?.error };
    const str = (k: string) => strOf(args[k]);
    const blocksArg: unknown[] | undefined = Array.isArray(args.blocks) ? args.blocks : undefined;
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.test/', team: 'Fake', user: 'mk8s', team_id: 'T0FAKE', user_id: botUserId, bot_id: botId };
      case 'chat.postMessage': {
        const channel = str('channel');
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (!str('text') && !blocksArg) return { ok: false, error: 'no_text' };
        const ts = this.nextTs();
        const thread = str('thread_ts');
        const blocks = blocksArg ?? [];
        const msg: FakeMessage = {
          channel,
          ts,
          ...(thread ? { thread_ts: thread } : {}),
          text: str('text') ?? '',
          blocks,
          buttons: buttonsOf(blocks),
          updates: 0,
        };
        stored.set(`${channel}:${ts}`, msg);
        return { ok: true, channel, ts, message: { type: 'message', user: botUserId, bot_id: botId, text: msg.text, ts, ...(thread ? { thread_ts: thread } : {}), blocks } };
      }
      case 'chat.update': {
        const channel = str('channel') ?? '';
        const ts = str('ts') ?? '';
        const msg = stored.get(`${channel}:${ts}`);
        if (!msg) return { ok: false, error: 'message_not_found' };
        const text = str('text');
        if (text !== undefined) msg.text = text;
        if (blocksArg) {
          msg.blocks = blocksArg;
          msg.buttons = buttonsOf(blocksArg);
        }
        msg.updates += 1;
        return { ok: true, channel, ts, text: msg.text };
      }
      case 'chat.postEphemeral': {
        const channel = str('channel');
        const user = str('user');
        if (!channel || !user) return { ok: false, error: 'invalid_arguments' };
        ephemerals.push({ channel, user, text: str('text') ?? '', blocks: blocksArg ?? [] });
        return { ok: true, message_ts: this.nextTs() };
      }
      case 'views.publish': {
        const user = str('user_id');
        const view = typeof args.view === 'string' ? (JSON.parse(args.view) as unknown) : args.view;
        if (!user || !isRecord(view) || view.type !== 'home' || !Array.isArray(view.blocks)) return { ok: false, error: 'invalid_arguments' };
        if (!homeBlocksValid(view.blocks)) return { ok: false, error: 'invalid_blocks' };
        homes.set(user, { view: { type: 'home', blocks: view.blocks }, count: (homes.get(user)?.count ?? 0) + 1 });
        return { ok: true, view: { id: `V${homes.size}`, type: 'home' } };
      }
      case 'usergroups.users.list': {
        const users = usergroups.get(str('usergroup') ?? '');
        return users ? { ok: true, users: [...users] } : { ok: false, error: 'no_such_subteam' };
      }
      case 'users.info': {
        const id = str('user') ?? '';
        return { ok: true, user: { id, name: id.toLowerCase(), real_name: `User ${id}`, is_bot: id === botUserId, tz: 'UTC' } };
      }
      case 'files.getUploadURLExternal': {
        const filename = str('filename');
        if (!filename || !str('length')) return { ok: false, error: 'invalid_arguments' };
        const id = `F${String(++this.fileCounter).padStart(8, '0')}`;
        pendingUploads.set(id, { filename });
        return { ok: true, upload_url: `${this.base}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const files: unknown[] = Array.isArray(args.files) ? args.files : [];
        const done: Array<Record<string, unknown>> = [];
        for (const entry of files) {
          const f = { id: isRecord(entry) ? (strOf(entry.id) ?? '') : '', title: isRecord(entry) ? strOf(entry.title) : undefined };
          const pending = pendingUploads.get(f.id);
          if (!pending?.bytes) return { ok: false, error: 'file_not_found' };
          pendingUploads.delete(f.id);
          const channel = str('channel_id');
          const thread = str('thread_ts');
          uploads.push({
            id: f.id,
            filename: pending.filename,
            bytes: pending.bytes,
            ...(f.title ? { title: f.title } : {}),
            ...(channel ? { channel } : {}),
            ...(thread ? { thread_ts: thread } : {}),
          });
          done.push({ id: f.id, name: pending.filename, title: f.title ?? pending.filename, size: pending.bytes.length });
        }
        return { ok: true, files: done };
      }
      case 'apps.connections.open':
        return { ok: true, url: `${this.wsBase}/socket?ticket=fake-ticket-${++this.ticket}` };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}
