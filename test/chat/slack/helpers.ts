/**
 * Shared bits of the Slack adapter tests: a BotCore that records what it is
 * given, a pino logger writing into memory, and the secrets used throughout.
 */
import { pino, type Logger } from 'pino';
import * as z from 'zod';
import type { ActionInput, BotCore, ChatMessage, CommandAnswer, CommandInput } from '../../../src/chat/port.ts';
import type { SlackChatOptions } from '../../../src/chat/slack/app.ts';
import { deferred } from '../../support/deferred.ts';

export const BOT_TOKEN = 'xoxb-1234567890-0987654321-SeCrEtBoTtOkEn';
export const SIGNING_SECRET = 'signing-secret-4f9c2b7e1d';
export const APP_TOKEN = 'xapp-1-A0FAKE-1111-SeCrEtApPtOkEn';

export class RecordingCore implements BotCore {
  readonly commands: CommandInput[] = [];
  readonly actions: ActionInput[] = [];
  onCommand: (input: CommandInput) => Promise<CommandAnswer> = async (input) => ({
    ack: { text: `job 1 queued: ${input.text}` },
    visibility: 'in_channel',
  });
  onAction: (input: ActionInput) => Promise<ChatMessage | undefined> = async (input) => ({
    text: `recorded ${input.actionId} by ${input.user}`,
  });

  handleCommand(input: CommandInput): Promise<CommandAnswer> {
    this.commands.push(input);
    return this.onCommand(input);
  }

  handleAction(input: ActionInput): Promise<ChatMessage | undefined> {
    this.actions.push(input);
    return this.onAction(input);
  }
}

/**
 * The ack-first scene both transports test: `jobs` is answered only once `release()` is called
 * (an ack still in flight), `status` acks at once and has a follow-up that notes in `order` when
 * it starts.
 */
export function holdJobsAnswer(core: RecordingCore, order: string[]): { release: () => void } {
  const { promise: held, resolve: release } = deferred();
  core.onCommand = async (input) => {
    if (input.text === 'jobs') {
      await held;
      return { ack: { text: 'no jobs' }, visibility: 'ephemeral' };
    }
    return {
      ack: { text: 'reading cluster prod…' },
      visibility: 'ephemeral',
      followUp: async () => {
        order.push('follow-up started');
        return { text: 'prod: 3 nodes Ready' };
      },
    };
  };
  return { release };
}

export interface CapturedLogs {
  logger: Logger;
  lines: string[];
  text(): string;
}

export function captureLogs(level: pino.LevelWithSilent = 'trace'): CapturedLogs {
  const lines: string[] = [];
  const logger = pino({ level }, { write: (s: string) => void lines.push(s) });
  return { logger, lines, text: () => lines.join('') };
}

/** What an ack or response_url body carries (the parts the tests read). */
export const AckBody = z.looseObject({
  text: z.string().optional(),
  response_type: z.string().optional(),
  blocks: z.array(z.looseObject({ type: z.string(), block_id: z.string().optional() })).optional(),
});
export type AckBody = z.infer<typeof AckBody>;

export async function ackBody(res: Response): Promise<AckBody> {
  return AckBody.parse(await res.json());
}

/** One captured pino line, with the fields the tests look at. */
export const LogLine = z.looseObject({
  msg: z.string().optional(),
  ref: z.string().optional(),
  err: z.looseObject({ message: z.string() }).optional(),
});

export function blockIds(blocks: unknown[]): string[] {
  return z.array(z.looseObject({ block_id: z.string() })).parse(blocks).map((b) => b.block_id);
}

export const healthy = async () => ({ ok: true, detail: { redis: 'up' } });
export const metrics = async () => ({ contentType: 'text/plain; version=0.0.4', body: '# HELP mk8s_up test\nmk8s_up 1\n' });

/**
 * Options for the adapter under test: `mode` with its test tokens (HTTP: bot token and signing
 * secret; Socket Mode: bot token and app token), the fake Slack at `apiUrl`, a free loopback port,
 * the test metrics and no retries. `health` and `logger` are each test's own.
 */
export function chatOptions(
  mode: 'http' | 'socket',
  apiUrl: string,
  over: Pick<SlackChatOptions, 'health' | 'logger'> & Partial<SlackChatOptions>,
): SlackChatOptions {
  return {
    mode,
    botToken: BOT_TOKEN,
    ...(mode === 'http' ? { signingSecret: SIGNING_SECRET } : { appToken: APP_TOKEN }),
    apiUrl,
    port: 0,
    host: '127.0.0.1',
    metrics,
    retries: 0,
    ...over,
  };
}
