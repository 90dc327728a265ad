/**
 * The Slack chat surface: a Bolt app that turns `/mk8s …` and button clicks
 * into BotCore calls, plus the ChatPort the engine posts through.
 *
 *   const slack = createSlackChat({ mode: 'http', botToken, signingSecret, port: env.PORT,
 *                                   apiUrl: env.SLACK_API_URL, health, metrics, logger });
 *   slack.attach(core);                       // BotCore: handleCommand / handleAction
 *   const { port } = await slack.start();     // HTTP: /slack/events, /healthz, /metrics
 *   await slack.port.post(channel, { text: 'job 42 queued' });
 *   await slack.stop();
 *
 * HTTP mode: Bolt's HTTPReceiver on POST /slack/events, signatures checked
 * (bad or stale → 401, no handler runs), /healthz and /metrics as customRoutes.
 * Socket Mode: Bolt's SocketModeReceiver (apps.connections.open via apiUrl),
 * and /healthz + /metrics from src/http/health-server.ts on PORT. In Socket
 * Mode /healthz is also 503 while the WebSocket is not connected.
 *
 * Slash command: the core's answer is the ack (within Slack's 3 s); if the
 * core has not answered within `ackDeadlineMs` the command is acked with a short
 * "still working" note (an empty ack shows the user nothing) and the answer follows
 * through response_url. A followUp runs after the ack and
 * is delivered with respond() (chat.postEphemeral / postMessage if that fails).
 * Clicks on `mk8s.*` buttons are acked at once; the core's note for the
 * clicker is posted ephemerally. Errors reach the user as a generic message
 * with a reference id; details go to the log, scrubbed of secrets.
 */
import { App, SocketModeReceiver, type AppOptions } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import { boundPort, healthRoutes, startHealthServer, type HealthReport, type HealthServer, type MetricsSource } from '../../http/health-server.ts';
import { newErrorRef as newRef, showError, type ShownError } from '../../errors/boundary.ts';
import type { BotCore, ChatMessage, ChatPort, CommandAnswer } from '../port.ts';
import { boltLogger, errorInfo, field, secretScrubber, type Scrub } from './logger.ts';
import { SlackChatPort, webClientOptions } from './port.ts';
import { renderMessage } from './render.ts';
import { AckFirst } from './ack-first.ts';

export interface SlackChatOptions {
  mode: 'http' | 'socket';
  botToken: string;
  /** HTTP mode: SLACK_SIGNING_SECRET. */
  signingSecret?: string;
  /** Socket Mode: SLACK_APP_TOKEN (xapp-…, scope connections:write). */
  appToken?: string;
  /** SLACK_API_URL → WebClient slackApiUrl (also used for apps.connections.open). */
  apiUrl?: string;
  /** PORT: /slack/events (http), /healthz, /metrics (both modes); 0 = any free port. */
  port: number;
  health: () => Promise<HealthReport>;
  metrics: MetricsSource;
  logger: PinoLogger;
  /** WebClient retries; tests pass 0. */
  retries?: number;
  /** The slash command, default `/mk8s`. */
  command?: string;
  /** Ack a slash command empty if the core has not answered by then (default 2500 ms; Slack allows 3000). */
  ackDeadlineMs?: number;
  /** A follow-up waits at most this long for the acks still in flight to go out first (default 1000 ms; ack-first.ts). */
  followUpYieldMs?: number;
  /** Host to bind (default all interfaces). */
  host?: string;
}

export interface SlackChat {
  port: ChatPort;
  attach(core: BotCore): void;
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

/** Prefix of the action ids this app handles. */
export const ACTION_PREFIX = 'mk8s.';

/** What the user sees of an error that reached the adapter: the boundary's text (an internal one logged under its ref). */
function errorMessage(shown: ShownError): ChatMessage {
  return { text: shown.ref ? `Something went wrong while handling that: ${shown.text}. Try again or ask an operator.` : shown.text };
}

const NOT_READY: ChatMessage = { text: 'The bot is still starting; try again in a few seconds.' };
const STILL_WORKING: ChatMessage = { text: 'Still working on that; the answer follows here.' };


type Settled<T> = { value: T } | { error: unknown };

/** Runs `fn` and never rejects: a sync throw or a rejection both become `{ error }`. */
function settle<T>(fn: () => Promise<T>): Promise<Settled<T>> {
  return new Promise<T>((resolve) => resolve(fn())).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

export function createSlackChat(options: SlackChatOptions): SlackChat {
  const { mode, botToken, signingSecret, appToken, logger: root } = options;
  if (!botToken) throw new Error('Slack: a bot token (SLACK_BOT_TOKEN) is required');

  const scrub: Scrub = secretScrubber([botToken, signingSecret, appToken]);
  const log = root.child({ component: 'slack' });
  const libLogger = boltLogger(root.child({ component: 'bolt' }), scrub);
  const commandName = options.command ?? '/mk8s';
  const ackDeadlineMs = options.ackDeadlineMs ?? 2500;
  const followUpYieldMs = options.followUpYieldMs ?? 1000;
  const acksFirst = new AckFirst();

  let socketConnected = false;
  const health = async (): Promise<HealthReport> => {
    const report = await options.health();
    if (mode === 'socket') {
      return { ok: report.ok && socketConnected, detail: { ...report.detail, slack: { mode, connected: socketConnected } } };
    }
    return { ok: report.ok, detail: { ...report.detail, slack: { mode } } };
  };
  const routes = healthRoutes(health, options.metrics);

  let socketReceiver: SocketModeReceiver | undefined;
  let receiverOptions: Pick<AppOptions, 'socketMode' | 'receiver' | 'signingSecret' | 'customRoutes'>;
  if (mode === 'socket') {
    if (!appToken) throw new Error('Slack Socket Mode needs SLACK_APP_TOKEN');
    socketReceiver = new SocketModeReceiver({
      appToken,
      logger: libLogger,
      // Its own copy: the Socket Mode client writes defaults into it.
      installerOptions: { clientOptions: { ...webClientOptions(options) } },
    });
    const client = socketReceiver.client;
    client.on('connected', () => {
      socketConnected = true;
      log.info('Socket Mode connected');
    });
    for (const state of ['close', 'disconnecting', 'disconnected', 'reconnecting']) {
      client.on(state, () => {
        if (socketConnected) log.warn({ state }, 'Socket Mode connection lost');
        socketConnected = false;
      });
    }
    receiverOptions = { socketMode: true, receiver: socketReceiver };
  } else {
    if (!signingSecret) throw new Error('Slack HTTP mode needs SLACK_SIGNING_SECRET');
    receiverOptions = {
      signingSecret,
      customRoutes: [
        { path: '/healthz', method: ['GET'], handler: routes.healthz },
        { path: '/metrics', method: ['GET'], handler: routes.metrics },
      ],
    };
  }

  const app = new App({
    token: botToken,
    logger: libLogger,
    clientOptions: webClientOptions(options),
    // auth.test runs in start() (awaited, with a readable error), not in the constructor.
    deferInitialization: true,
    // Bolt's conversation store (a per-event middleware and an in-memory map) is not used: off.
    convoStore: false,
    ...receiverOptions,
  });

  const port = new SlackChatPort(app.client, { scrub });
  let core: BotCore | undefined;

  const logError = (ref: string, what: string, err: unknown, extra: Record<string, unknown> = {}) => {
    log.error({ ref, ...extra, err: errorInfo(err, scrub) }, what);
  };

  app.error(async (err) => {
    logError(newRef(), 'unhandled error in the Slack app', err);
  });

  app.command(commandName, async ({ body, ack: boltAck, respond }) => {
    const input = { user: body.user_id, channel: body.channel_id, text: body.text ?? '' };
    log.debug({ user: input.user, channel: input.channel }, 'slash command');

    // Sends `message` where the command's answer goes: response_url, else the Web API.
    const deliver = async (message: ChatMessage, visibility: CommandAnswer['visibility']) => {
      const rendered = renderMessage(message);
      try {
        await respond({ ...rendered, response_type: visibility, replace_original: false });
        return;
      } catch (err) {
        log.warn({ err: errorInfo(err, scrub) }, 'respond() failed; posting through the Web API instead');
      }
      try {
        if (visibility === 'ephemeral') await port.ephemeral(input.channel, input.user, message);
        else await port.post(input.channel, message);
      } catch (err) {
        logError(newRef(), 'could not deliver the answer to a slash command', err, { channel: input.channel });
      }
    };

    const afterAck = async (answer: CommandAnswer) => {
      if (!answer.followUp) return;
      await acksFirst.idle(followUpYieldMs);
      const result = await settle(answer.followUp);
      if ('error' in result) {
        const shown = showError(result.error, (ref, e) => logError(ref, 'follow-up of a slash command failed', e, { user: input.user, channel: input.channel }));
        await deliver(errorMessage(shown), 'ephemeral');
        return;
      }
      await deliver(result.value, answer.visibility);
    };

    const bot = core;
    if (!bot) {
      await boltAck({ ...renderMessage(NOT_READY), response_type: 'ephemeral' });
      return;
    }

    // Socket Mode has no HTTP request to count: the command counts itself until it is acked.
    let acked = false;
    if (mode === 'socket') acksFirst.begin();
    const ack = async (...args: Parameters<typeof boltAck>) => {
      try {
        await boltAck(...args);
      } finally {
        if (mode === 'socket' && !acked) acksFirst.end();
        acked = true;
      }
    };

    const answering = settle(() => bot.handleCommand(input));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ackDeadlineMs);
    });
    const first = await Promise.race([answering, late]);
    clearTimeout(timer);

    if (first === 'late') {
      // Slack would show "operation_timeout": ack now, answer through response_url.
      log.warn({ user: input.user, ackDeadlineMs }, 'bot core was slow to answer; acked with a note');
      await ack({ ...renderMessage(STILL_WORKING), response_type: 'ephemeral' });
      const result = await answering;
      if ('error' in result) {
        const shown = showError(result.error, (ref, e) => logError(ref, 'slash command failed', e, { user: input.user, channel: input.channel }));
        await deliver(errorMessage(shown), 'ephemeral');
        return;
      }
      await deliver(result.value.ack, result.value.visibility);
      await afterAck(result.value);
      return;
    }

    if ('error' in first) {
      const shown = showError(first.error, (ref, e) => logError(ref, 'slash command failed', e, { user: input.user, channel: input.channel }));
      await ack({ ...renderMessage(errorMessage(shown)), response_type: 'ephemeral' });
      return;
    }

    const answer = first.value;
    await ack({ ...renderMessage(answer.ack), response_type: answer.visibility });
    await afterAck(answer);
  });

  app.action({ type: 'block_actions', action_id: new RegExp(`^${ACTION_PREFIX.replace('.', '\\.')}`) }, async ({ ack, body, action, respond }) => {
    await ack();
    const user = body.user.id;
    const channel = body.channel?.id ?? body.container?.channel_id;
    const messageTs = body.message?.ts ?? body.container?.message_ts;
    const actionId = action.action_id;
    const value = 'value' in action && typeof action.value === 'string' ? action.value : '';
    if (!channel || !messageTs) {
      log.warn({ actionId, user }, 'button click without a channel or message; ignored');
      return;
    }

    let note: ChatMessage | undefined;
    const bot = core;
    if (!bot) {
      note = NOT_READY;
    } else {
      const result = await settle(() => bot.handleAction({ user, channel, messageTs, actionId, value }));
      if ('error' in result) {
        const shown = showError(result.error, (ref, e) => logError(ref, 'button click failed', e, { user, channel, actionId }));
        note = errorMessage(shown);
      } else {
        note = result.value;
      }
    }
    if (!note) return;
    try {
      await port.ephemeral(channel, user, note);
    } catch (err) {
      log.warn({ err: errorInfo(err, scrub) }, 'chat.postEphemeral failed; answering through response_url');
      try {
        await respond({ ...renderMessage(note), response_type: 'ephemeral', replace_original: false });
      } catch (err2) {
        logError(newRef(), 'could not answer a button click', err2, { user, channel, actionId });
      }
    }
  });

  // Other buttons (none today): ack so Slack shows no error, do nothing.
  // The App Home tab (manifest: features.app_home, event app_home_opened): the core publishes it.
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home' || !core?.homeOpened) return;
    const result = await settle(() => core!.homeOpened!(event.user));
    if ('error' in result) logError(newRef(), 'could not publish the App Home', result.error, { user: event.user });
  });

  app.action({ type: 'block_actions', action_id: new RegExp(`^(?!${ACTION_PREFIX.replace('.', '\\.')})`) }, async ({ ack }) => {
    await ack();
  });

  let healthServer: HealthServer | undefined;
  let started = false;
  let stopping: Promise<void> | undefined;

  const start = async (): Promise<{ port: number }> => {
    if (started) throw new Error('Slack app already started');
    started = true;
    try {
      await app.init();
    } catch (err) {
      started = false;
      const code = field(err, 'data', 'error');
      throw new Error(
        `Slack auth.test failed${typeof code === 'string' ? `: ${code}` : ''} (check SLACK_BOT_TOKEN and SLACK_API_URL)`,
        { cause: err },
      );
    }
    if (mode === 'http') {
      const server = await app.start(options.host ? { port: options.port, host: options.host } : options.port);
      acksFirst.track(server);
      const bound = boundPort(server);
      log.info({ port: bound }, 'Slack HTTP receiver listening on /slack/events');
      return { port: bound };
    }
    healthServer = await startHealthServer({
      port: options.port,
      health,
      metrics: options.metrics,
      ...(options.host ? { host: options.host } : {}),
    });
    try {
      await app.start();
    } catch (err) {
      await healthServer.close();
      healthServer = undefined;
      started = false;
      throw new Error(`Slack Socket Mode could not connect: ${scrub(err instanceof Error ? err.message : String(err))}`, {
        cause: err,
      });
    }
    log.info({ port: healthServer.port }, 'Slack Socket Mode started; /healthz and /metrics on this port');
    return { port: healthServer.port };
  };

  const stop = (): Promise<void> => {
    if (!started) return Promise.resolve();
    stopping ??= (async () => {
      if (socketReceiver) {
        await socketReceiver.client.disconnect();
      } else {
        await app.stop();
      }
      await healthServer?.close();
    })();
    return stopping;
  };

  return {
    port,
    attach: (c: BotCore) => {
      core = c;
    },
    start,
    stop,
  };
}
