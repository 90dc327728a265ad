/**
 * A fake Slack (Web API + response_url + Socket Mode) on 127.0.0.1, for tests.
 *
 *   const slack = await startFakeSlack({ usergroups: { S0OPS: ['U1', 'U2'] } });
 *   // point the app at it: SLACK_API_URL = slack.url  (http://127.0.0.1:PORT/api/)
 *   ...
 *   await slack.waitFor(() => slack.messages().find((m) => m.text.includes('succeeded')));
 *   slack.callsOf('chat.postEphemeral')[0].args.text;
 *   await slack.stop();
 *
 * API
 * - `url`: Web API base URL (trailing slash), for WebClient's slackApiUrl.
 * - `calls`: every Web API call in order: `{ method, args, at, token }`; args are
 *   parsed as WebClient sends them (form-encoded; `blocks`, `attachments`,
 *   `files`, `metadata` decoded from their JSON strings). `callsOf(method)` filters.
 * - `messages()`: every message posted with chat.postMessage, in ts order, as it
 *   is now (chat.update applied): `{ channel, ts, thread_ts?, text, blocks,
 *   buttons, updates }`; `buttons` lists the actions-block buttons
 *   (`{ label, actionId, value, style?, confirm? }`), handy for clicking Approve.
 *   `thread(channel, ts)` = the replies under a parent.
 * - `ephemerals()`: chat.postEphemeral calls as `{ channel, user, text, blocks }`.
 * - `responses`: bodies POSTed to response URLs: `{ id, body, at }`;
 *   `responseUrl(id)` gives such a URL for crafted payloads;
 *   `setResponseStatus(code)` makes response URLs fail (e.g. 404) to test fallbacks.
 * - `uploads`: files received through files.getUploadURLExternal → upload →
 *   files.completeUploadExternal: `{ id, filename, bytes, title?, channel?, thread_ts? }`.
 * - `homeView(user)`: the last view views.publish set for a user's App Home tab (`{ type, blocks }`),
 *   `homePublishes(user)` how many times; like Slack it refuses a view over 100 blocks or with a
 *   header over 150 / a section over 3000 characters (`invalid_blocks`).
 * - `setUsergroup(id, users)`; `failNext(method, error)` makes the next call of
 *   `method` answer `{ ok: false, error }`.
 * - `waitFor(predicate, timeoutMs = 5000)`: polls (every 10 ms; the predicate may be
 *   async) until it returns a truthy value and resolves with it; rejects with a
 *   readable error on timeout.
 * - `socketMode.url`: the ws:// URL apps.connections.open hands out. On connect the
 *   fake sends `hello`, like Slack. `socketMode.send({ type, payload, envelope_id?,
 *   accepts_response_payload? })` sends an envelope (`type` is `slash_commands`,
 *   `interactive` or `events_api`) and resolves with the app's ack
 *   `{ envelope_id, payload }`; it waits for a connection first.
 *   `socketMode.connections()` counts open sockets; `socketMode.drop()` cuts them.
 * - Tokens: with `tokens` given, any other bearer token gets `invalid_auth`.
 * - Realism (off by default, so tests stay fast): `latencyMs` delays every Web API answer;
 *   `rateLimits: true` (or a `SlackRateLimits`) applies Slack's limits — chat.postMessage about
 *   one message per second per channel (short bursts allowed), chat.update Tier 3 (~50 a minute
 *   per app), every other method Tier 3 too — and answers over the limit with HTTP 429, a
 *   `Retry-After` header (whole seconds) and `{ ok: false, error: 'ratelimited' }`; such calls
 *   change nothing and go to `limited`, not `calls`. `configure({ latencyMs, rateLimits })`
 *   changes both at run time (benchmarks measure with them on and off).
 *
 * auth.test answers `{ user_id: botUserId ('U0BOT'), bot_id: botId ('B0BOT'), team_id: 'T0FAKE' }`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { boundPort } from '../../src/http/health-server.ts';

export interface FakeCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
  /** The bearer token (or `token` arg) the call came with. */
  token: string | undefined;
}

export interface FakeButton {
  label: string;
  actionId: string;
  value: string;
  style?: string;
  confirm?: { title: string; text: string; confirm: string; deny: string };
}

export interface FakeMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: unknown[];
  buttons: FakeButton[];
  /** How many times chat.update changed it. */
  updates: number;
}

export interface FakeEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks: unknown[];
}

export interface FakeResponse {
  id: string;
  body: Record<string, unknown>;
  at: number;
}

export interface FakeUpload {
  id: string;
  filename: string;
  bytes: Buffer;
  title?: string;
  channel?: string;
  thread_ts?: string;
}

export interface SocketEnvelope {
  /** `slash_commands`, `interactive` or `events_api`. */
  type: string;
  payload: unknown;
  envelope_id?: string;
  accepts_response_payload?: boolean;
}

export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

type Falsy = undefined | null | false;

/** A token bucket: `burst` calls at once, refilled at `perSecond`. */
export interface RateBucket {
  burst: number;
  perSecond: number;
}

/** Slack's published limits, as the fake applies them (https://docs.slack.dev/apis/web-api/rate-limits). */
export interface SlackRateLimits {
  /** Per channel. */
  postMessage: RateBucket;
  /** Per app (Tier 3). */
  update: RateBucket;
  /** Every other method, each its own bucket (Tier 3). */
  other: RateBucket;
}

export const SLACK_RATE_LIMITS: SlackRateLimits = {
  postMessage: { burst: 3, perSecond: 1 },
  update: { burst: 50, perSecond: 50 / 60 },
  other: { burst: 50, perSecond: 50 / 60 },
};

export interface FakeRealism {
  /** Added to every Web API answer (real Slack: ~100–300 ms). */
  latencyMs?: number;
  /** true: SLACK_RATE_LIMITS; false: none. */
  rateLimits?: boolean | SlackRateLimits;
}

export interface FakeSlackOptions extends FakeRealism {
  usergroups?: Record<string, string[]>;
  botUserId?: string;
  botId?: string;
  /** Accepted bearer tokens; default: any non-empty token. */
  tokens?: string[];
}

export interface FakeSlack {
  url: string;
  calls: FakeCall[];
  /** Calls answered 429 (rate limited); they changed nothing. */
  limited: FakeCall[];
  callsOf(method: string): FakeCall[];
  /** Turns latency and rate limits on or off from now on. */
  configure(realism: FakeRealism): void;
  messages(): FakeMessage[];
  thread(channel: string, ts: string): FakeMessage[];
  ephemerals(): FakeEphemeral[];
  responses: FakeResponse[];
  responseUrl(id: string): string;
  setResponseStatus(status: number): void;
  uploads: FakeUpload[];
  setUsergroup(id: string, users: string[]): void;
  homeView(user: string): { type: string; blocks: unknown[] } | undefined;
  homePublishes(user: string): number;
  /** The next call of `method` (that `match` accepts, when given) answers `{ ok: false, error }`. */
  failNext(method: string, error: string, match?: (args: Record<string, unknown>) => boolean): void;
  waitFor<T>(predicate: () => T | Falsy | Promise<T | Falsy>, timeoutMs?: number): Promise<T>;
  socketMode: {
    url: string;
    connections(): number;
    /** Closes every socket abruptly (the app should notice and reconnect). */
    drop(): void;
    send(envelope: SocketEnvelope, timeoutMs?: number): Promise<SocketAck>;
  };
  stop(): Promise<void>;
}

const JSON_ARGS = new Set(['blocks', 'attachments', 'files', 'metadata', 'file_uploads', 'view']);

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The body of the first part of a multipart/form-data request (WebClient sends the file as one part). */
function firstMultipartPart(raw: Buffer, contentType: string): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const marker = boundary ? `--${boundary[1] ?? boundary[2] ?? ''}` : '';
  const start = raw.indexOf(marker);
  if (!marker || start < 0) return Buffer.alloc(0);
  const headersEnd = raw.indexOf('\r\n\r\n', start);
  const end = raw.indexOf(`\r\n${marker}`, headersEnd);
  if (headersEnd < 0 || end < 0) return Buffer.alloc(0);
  return raw.subarray(headersEnd + 4, end);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJsonObject(text: string): Record<string, unknown> {
  const parsed: unknown = text ? JSON.parse(text) : {};
  if (!isRecord(parsed)) throw new Error('expected a JSON object');
  return parsed;
}

function parseArgs(raw: Buffer, contentType: string): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (contentType.includes('application/json')) return parseJsonObject(text);
  const args: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (JSON_ARGS.has(k)) {
      try {
        args[k] = JSON.parse(v);
        continue;
      } catch {
        // leave as string
      }
    }
    args[k] = v;
  }
  return args;
}

function textOf(obj: unknown): string {
  return isRecord(obj) && typeof obj.text === 'string' ? obj.text : '';
}

function strOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Buttons of every actions block, in order. */
export function buttonsOf(blocks: unknown[]): FakeButton[] {
  const out: FakeButton[] = [];
  for (const b of blocks) {
    if (!isRecord(b) || b.type !== 'actions' || !Array.isArray(b.elements)) continue;
    for (const e of b.elements) {
      if (!isRecord(e) || e.type !== 'button') continue;
      const style = strOf(e.style);
      out.push({
        label: textOf(e.text),
        actionId: strOf(e.action_id) ?? '',
        value: strOf(e.value) ?? '',
        ...(style ? { style } : {}),
        ...(isRecord(e.confirm)
          ? {
              confirm: {
                title: textOf(e.confirm.title),
                text: textOf(e.confirm.text),
                confirm: textOf(e.confirm.confirm),
                deny: textOf(e.confirm.deny),
              },
            }
          : {}),
      });
    }
  }
  return out;
}

/** Slack's limits for a Home tab: ≤ 100 blocks, header text ≤ 150, section text ≤ 3000, context ≤ 10 elements. */
function homeBlocksValid(blocks: unknown[]): boolean {
  if (blocks.length > 100) return false;
  return blocks.every((b) => {
    if (!isRecord(b)) return false;
    if (b.type === 'header') return textOf(b.text).length <= 150;
    if (b.type === 'section') return textOf(b.text).length > 0 && textOf(b.text).length <= 3000;
    if (b.type === 'context') return Array.isArray(b.elements) && b.elements.length <= 10 && b.elements.every((e) => textOf(e).length <= 2000);
    return b.type === 'divider' || b.type === 'actions';
  });
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const botUserId = options.botUserId ?? 'U0BOT';
  const botId = options.botId ?? 'B0BOT';
  const calls: FakeCall[] = [];
  const limited: FakeCall[] = [];
  let latencyMs = options.latencyMs ?? 0;
  let limits: SlackRateLimits | undefined;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const setLimits = (r: boolean | SlackRateLimits | undefined) => {
    limits = r === true ? SLACK_RATE_LIMITS : r === false || r === undefined ? undefined : r;
    buckets.clear();
  };
  setLimits(options.rateLimits);
  /** 0 when the call may go ahead (and takes its token), else the seconds to wait. */
  const retryAfter = (method: string, args: Record<string, unknown>): number => {
    if (!limits) return 0;
    const [key, rule] =
      method === 'chat.postMessage' ? [`post:${strOf(args.channel) ?? ''}`, limits.postMessage] : method === 'chat.update' ? ['update', limits.update] : [`m:${method}`, limits.other];
    const now = Date.now();
    const b = buckets.get(key) ?? { tokens: rule.burst, at: now };
    b.tokens = Math.min(rule.burst, b.tokens + ((now - b.at) / 1000) * rule.perSecond);
    b.at = now;
    buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rule.perSecond));
  };
  const responses: FakeResponse[] = [];
  const uploads: FakeUpload[] = [];
  const pendingUploads = new Map<string, { filename: string; bytes?: Buffer }>();
  const stored = new Map<string, FakeMessage>(); // key channel:ts
  const ephemerals: FakeEphemeral[] = [];
  const usergroups = new Map(Object.entries(options.usergroups ?? {}));
  const failures = new Map<string, Array<{ error: string; match?: (args: Record<string, unknown>) => boolean }>>();
  const homes = new Map<string, { view: { type: string; blocks: unknown[] }; count: number }>();
  let responseStatus = 200;
  let tsCounter = 0;
  let fileCounter = 0;
  let ticket = 0;
  let base = '';

  const nextTs = () => {
    tsCounter += 100;
    return `${1700000000 + Math.floor(tsCounter / 1_000_000)}.${String(tsCounter % 1_000_000).padStart(6, '0')}`;
  };

  const api = (method: string, args: Record<string, unknown>, token: string | undefined): Record<string, unknown> => {
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
        const ts = nextTs();
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
        return { ok: true, message_ts: nextTs() };
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
        const id = `F${String(++fileCounter).padStart(8, '0')}`;
        pendingUploads.set(id, { filename });
        return { ok: true, upload_url: `${base}/upload/${id}`, file_id: id };
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
        return { ok: true, url: `${wsBase}/socket?ticket=fake-ticket-${++ticket}` };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const raw = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    if (path.startsWith('/api/') && req.method === 'POST') {
      const method = path.slice('/api/'.length);
      const args = parseArgs(raw, contentType);
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : undefined;
      delete args.token;
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      const wait = retryAfter(method, args);
      if (wait > 0) {
        limited.push({ method, args, at: Date.now(), token });
        res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(wait) });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      calls.push({ method, args, at: Date.now(), token });
      sendJson(res, 200, api(method, args, token));
      return;
    }
    if (path.startsWith('/upload/') && req.method === 'POST') {
      const id = path.slice('/upload/'.length);
      const pending = pendingUploads.get(id);
      if (!pending) {
        res.writeHead(404).end('unknown upload');
        return;
      }
      let bytes = raw;
      if (contentType.startsWith('multipart/form-data')) bytes = firstMultipartPart(raw, contentType);
      pending.bytes = bytes;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
      return;
    }
    if (path.startsWith('/response/') && req.method === 'POST') {
      const id = path.slice('/response/'.length);
      let body: Record<string, unknown>;
      try {
        body = parseArgs(raw, 'application/json');
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      if (responseStatus !== 200) {
        res.writeHead(responseStatus).end('expired_url');
        return;
      }
      responses.push({ id, body, at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    res.writeHead(404).end('not found');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });

  // Socket Mode
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  const acks = new Map<string, (ack: SocketAck) => void>();
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path !== '/socket') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data) => {
        let msg: Record<string, unknown>;
        try {
          msg = parseJsonObject(rawText(data));
        } catch {
          return;
        }
        const envelopeId = strOf(msg.envelope_id);
        const resolve = envelopeId ? acks.get(envelopeId) : undefined;
        if (envelopeId && resolve) {
          acks.delete(envelopeId);
          resolve({ envelope_id: envelopeId, ...(isRecord(msg.payload) ? { payload: msg.payload } : {}) });
        }
      });
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: sockets.size,
          debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: 'A0FAKE' },
        }),
      );
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = boundPort(server);
  base = `http://127.0.0.1:${port}`;
  const wsBase = `ws://127.0.0.1:${port}`;

  const waitFor = async <T>(predicate: () => T | Falsy | Promise<T | Falsy>, timeoutMs = 5000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await predicate();
      if (v) return v;
      if (Date.now() > deadline) {
        const seen = calls.map((c) => c.method).join(', ') || 'none';
        throw new Error(`fake-slack: condition not met within ${timeoutMs} ms (Web API calls so far: ${seen})`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  const messages = () => [...stored.values()].toSorted((a, b) => Number(a.ts) - Number(b.ts));

  return {
    url: `${base}/api/`,
    calls,
    limited,
    callsOf: (method) => calls.filter((c) => c.method === method),
    configure: (realism) => {
      if (realism.latencyMs !== undefined) latencyMs = realism.latencyMs;
      if (realism.rateLimits !== undefined) setLimits(realism.rateLimits);
    },
    messages,
    thread: (channel, ts) => messages().filter((m) => m.channel === channel && m.thread_ts === ts),
    ephemerals: () => [...ephemerals],
    responses,
    responseUrl: (id) => `${base}/response/${encodeURIComponent(id)}`,
    setResponseStatus: (status) => {
      responseStatus = status;
    },
    uploads,
    setUsergroup: (id, users) => {
      usergroups.set(id, [...users]);
    },
    homeView: (user) => homes.get(user)?.view,
    homePublishes: (user) => homes.get(user)?.count ?? 0,
    failNext: (method, error, match) => {
      failures.set(method, [...(failures.get(method) ?? []), { error, match }]);
    },
    waitFor,
    socketMode: {
      url: `${wsBase}/socket`,
      connections: () => sockets.size,
      drop: () => {
        for (const ws of sockets) ws.terminate();
      },
      send: async (envelope, timeoutMs = 5000) => {
        const ws = await waitFor(() => [...sockets].find((s) => s.readyState === s.OPEN), timeoutMs);
        const envelope_id = envelope.envelope_id ?? randomUUID();
        const full = {
          envelope_id,
          type: envelope.type,
          payload: envelope.payload,
          accepts_response_payload: envelope.accepts_response_payload ?? envelope.type === 'slash_commands',
          ...(envelope.type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
        };
        return new Promise<SocketAck>((resolve, reject) => {
          const timer = setTimeout(() => {
            acks.delete(envelope_id);
            reject(new Error(`fake-slack: envelope ${envelope_id} (${envelope.type}) was not acked within ${timeoutMs} ms`));
          }, timeoutMs);
          acks.set(envelope_id, (ack) => {
            clearTimeout(timer);
            resolve(ack);
          });
          ws.send(JSON.stringify(full));
        });
      },
    },
    stop: async () => {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
