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
 *
 * The parts, by concern (test/support/fake-slack/): the HTTP server and its routes (http.ts),
 * the recorded workspace and the Web API methods (web-api.ts), latency and rate limits
 * (realism.ts), Block Kit reading and Home tab validation (blocks.ts), Socket Mode
 * (socket-mode.ts). This file holds the API tests use and puts the parts together.
 */
import { boundPort } from '../../src/http/health-server.ts';
import { createFakeSlackServer } from './fake-slack/http.ts';
import { Realism, type SlackRateLimits } from './fake-slack/realism.ts';
import { attachSocketMode } from './fake-slack/socket-mode.ts';
import { FakeWorkspace } from './fake-slack/web-api.ts';

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

export interface FakeRealism {
  /** Added to every Web API answer (real Slack: ~100–300 ms). */
  latencyMs?: number;
  /** true: SLACK_RATE_LIMITS (fake-slack/realism.ts); false: none. */
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

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const workspace = new FakeWorkspace(options);
  const realism = new Realism(options);
  const { calls, limited, responses, uploads, ephemerals, usergroups, homes } = workspace;
  let responseStatus = 200;
  const server = createFakeSlackServer(workspace, realism, () => responseStatus);

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
  const socket = attachSocketMode(server, waitFor);

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = boundPort(server);
  const base = `http://127.0.0.1:${port}`;
  const wsBase = `ws://127.0.0.1:${port}`;
  workspace.base = base;
  workspace.wsBase = wsBase;

  const messages = () => workspace.messages();

  return {
    url: `${base}/api/`,
    calls,
    limited,
    callsOf: (method) => calls.filter((c) => c.method === method),
    configure: (r) => realism.configure(r),
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
    failNext: (method, error, match) => workspace.failNext(method, error, match),
    waitFor,
    socketMode: {
      url: `${wsBase}/socket`,
      connections: socket.connections,
      drop: socket.drop,
      send: socket.send,
    },
    stop: async () => {
      await socket.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
