import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { BotCore, ChatMessage, CommandAnswer } from '../port.ts';
import { ConsoleChatPort } from './console-port.ts';

/**
 * The console chat: a REPL that turns typed lines into the same calls Slack
 * makes (`handleCommand`, `handleAction`) and prints what the bot posts.
 *
 *   /mk8s <text> or <text>   a command (`/mk8s status`, `upgrade k8s-1 1.23/stable`)
 *   as <user>                act as another user (lowercase name or Slack id)
 *   approve <job>            press the newest Approve button shown for the job (reject likewise)
 *   press <n>                press button n as printed
 *   channel <id>             switch channel
 *   quit | exit              leave
 *
 * Lines are handled one at a time, in order, each awaited before the next, so
 * piped input works as a script; at the end of input, start() resolves once the
 * work in flight is done.
 */

export interface ConsoleLogger {
  error(obj: object, msg?: string): void;
}

export interface ConsoleChatOptions {
  input: Readable;
  output: Writable;
  /** The acting user at start (`alice`). */
  user: string;
  /** The channel commands are sent from (a cluster's channel picks that cluster). */
  channel: string;
  logger?: ConsoleLogger;
}

export interface ConsoleChat {
  port: ConsoleChatPort;
  attach(core: BotCore): void;
  /** Reads lines until the input ends, `quit`, or stop(). */
  start(): Promise<void>;
  stop(): void;
  /** The acting user and channel now. */
  readonly user: string;
  readonly channel: string;
}

const CONSOLE_USER = /^[a-z][a-z0-9._-]{0,31}$/;
const SLACK_USER = /^[UW][A-Z0-9]{2,20}$/;
const CHANNEL = /^(?:[CGD][A-Z0-9]{2,20}|[a-z0-9#][a-z0-9_-]{0,79})$/;
const JOB_REF = /^\d{1,12}(?::[A-Za-z0-9._-]{1,64})?$/;

const HELP_LINE =
  'Console: `/mk8s <verb> ...` (or just `<verb> ...`), `as <user>`, `approve <job>`, `reject <job>`, `press <n>`, `channel <id>`, `quit`. Try `/mk8s help`.';

export function createConsoleChat(opts: ConsoleChatOptions): ConsoleChat {
  let user = opts.user;
  let channel = opts.channel;
  let core: BotCore | undefined;
  let rl: Interface | undefined;
  let stopped = false;
  /** The prompt is on screen, waiting for a line (only on a terminal). */
  let prompting = false;
  const interactive = Reflect.get(opts.input, 'isTTY') === true && Reflect.get(opts.output, 'isTTY') === true;
  const output = opts.output;

  // On a terminal, messages that arrive while the prompt waits (a job's steps) are
  // printed above it, and the prompt is drawn again with what was typed so far.
  const write = (text: string): void => {
    if (!interactive || !prompting || !rl) {
      output.write(text);
      return;
    }
    clearLine(output, 0);
    cursorTo(output, 0);
    output.write(text);
    rl.prompt(true);
  };
  const port = new ConsoleChatPort({ output, write });
  port.setActingUser(user);

  const say = (line: string): void => port.print(line);
  const prompt = (): void => {
    if (!rl || !interactive || stopped) return;
    rl.setPrompt(`${user}@${channel}> `);
    rl.prompt();
    prompting = true;
  };

  const show = async (message: ChatMessage, visibility: CommandAnswer['visibility']): Promise<void> => {
    if (visibility === 'ephemeral') await port.ephemeral(channel, user, message);
    else await port.post(channel, message);
  };

  /** A click, as Slack reports it: from the channel and message that carried the button. */
  const action = async (button: { actionId: string; value: string; messageTs: string; channel: string }): Promise<void> => {
    if (!core) return say('no bot is attached yet');
    const reply = await core.handleAction({ user, channel: button.channel, messageTs: button.messageTs, actionId: button.actionId, value: button.value });
    if (reply) await port.ephemeral(channel, user, reply);
  };

  const command = async (text: string): Promise<void> => {
    if (!core) return say('no bot is attached yet');
    const answer = await core.handleCommand({ user, channel, text });
    await show(answer.ack, answer.visibility);
    if (answer.followUp) await show(await answer.followUp(), answer.visibility);
  };

  /** One line; returns false to stop reading. */
  const handle = async (raw: string): Promise<boolean> => {
    const line = raw.trim();
    if (line === '') return true;
    const [head = '', ...rest] = line.split(/\s+/);
    const arg = rest.join(' ');
    switch (head) {
      case 'quit':
      case 'exit':
        if (rest.length === 0) return false;
        break;
      case 'as':
        if (CONSOLE_USER.test(arg) || SLACK_USER.test(arg)) {
          user = arg;
          port.setActingUser(user);
          say(`now acting as ${user}`);
        } else {
          say(`usage: as <user> — a lowercase name such as bob, or a Slack user id such as U012AB3CD`);
        }
        return true;
      case 'channel':
        if (CHANNEL.test(arg)) {
          channel = arg;
          say(`now in channel ${channel}`);
        } else {
          say('usage: channel <id> — a Slack channel id such as C0123456789, or a lowercase name');
        }
        return true;
      case 'approve':
      case 'reject':
        if (!JOB_REF.test(arg)) {
          say(`usage: ${head} <job> — the job number, e.g. ${head} 42`);
          return true;
        }
        const shown = port.newestButton(`mk8s.${head}`, arg);
        if (!shown) {
          say(`no ${head === 'approve' ? 'Approve' : 'Reject'} button of job ${arg} has been shown here; nothing pressed`);
          return true;
        }
        await action(shown);
        return true;
      case 'press': {
        const button = /^\d{1,6}$/.test(arg) ? port.button(Number(arg)) : undefined;
        if (!button) {
          say(`no button ${arg || '?'}; type press <n> with a number shown next to a button`);
          return true;
        }
        await action(button);
        return true;
      }
      default:
        break;
    }
    if (head.startsWith('/')) {
      if (head !== '/mk8s') {
        say(`unknown command ${head.slice(0, 20)}; commands start with /mk8s (${HELP_LINE})`);
        return true;
      }
      await command(line.slice(head.length).trim());
      return true;
    }
    await command(line);
    return true;
  };

  return {
    port,
    get user() {
      return user;
    },
    get channel() {
      return channel;
    },
    attach(c) {
      core = c;
    },
    start() {
      if (rl) return Promise.reject(new Error('the console chat is already started'));
      stopped = false;
      const reader = createInterface({ input: opts.input, output: interactive ? opts.output : undefined, terminal: interactive });
      rl = reader;
      if (interactive) say(HELP_LINE);
      return new Promise<void>((resolve) => {
        const queue: string[] = [];
        let closed = false;
        let busy = false;
        const finish = (): void => {
          stopped = true;
          resolve();
        };
        const pump = async (): Promise<void> => {
          if (busy) return;
          busy = true;
          try {
            while (queue.length > 0 && !stopped) {
              const line = queue.shift();
              if (line === undefined) break;
              let go = true;
              try {
                go = await handle(line);
              } catch (err) {
                opts.logger?.error({ err }, 'console command failed');
                say(`error: ${err instanceof Error ? err.message : String(err)}`);
              }
              if (!go) {
                stopped = true;
                reader.close();
              }
              if (queue.length === 0) prompt();
            }
          } finally {
            busy = false;
          }
          if ((closed || stopped) && !busy) finish();
        };
        reader.on('line', (line) => {
          prompting = false;
          queue.push(line);
          void pump();
        });
        reader.on('close', () => {
          closed = true;
          void pump();
        });
        prompt();
      });
    },
    stop() {
      stopped = true;
      rl?.close();
    },
  };
}
