import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConsoleChatPort } from '../../../src/chat/console/console-port.ts';
import { createConsoleChat, type ConsoleChat } from '../../../src/chat/console/repl.ts';
import type { ActionInput, BotCore, ChatMessage, ChatPort, CommandAnswer, CommandInput } from '../../../src/chat/port.ts';

/** Collects everything written to a stream. */
function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return { stream, text: () => text };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  const settle: { resolve?: () => void } = {};
  const promise = new Promise<void>((r) => {
    settle.resolve = r;
  });
  return { promise, resolve: () => settle.resolve?.() };
}

const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * A small bot core that records what it is asked and answers like the real one:
 * `upgrade` posts a parent and an approval with buttons in its thread,
 * `status` answers with a follow-up, `boom` throws.
 */
class RecordingCore implements BotCore {
  readonly commands: CommandInput[] = [];
  readonly actions: ActionInput[] = [];
  readonly events: string[] = [];
  /** When set, `slow` waits for it. */
  gate: Promise<void> | undefined;

  constructor(private readonly port: ChatPort) {}

  async handleCommand(input: CommandInput): Promise<CommandAnswer> {
    this.commands.push(input);
    this.events.push(`start ${input.text}`);
    const [verb] = input.text.split(' ');
    try {
      switch (verb) {
        case 'upgrade': {
          const parent = await this.port.post(input.channel, { text: `job 42 queued: ${input.text} on prod, asked by ${input.user}` });
          await this.port.post(input.channel, { text: 'step 1/6: read k8s-1 — done' }, parent.ts);
          await this.port.post(
            input.channel,
            {
              text: 'Approve the plan for job 42?',
              body: '```\ndrain k8s-1\nsnap refresh microk8s --channel 1.23/stable\n```',
              context: `requested by ${input.user}`,
              buttons: [
                { label: 'Approve', actionId: 'mk8s.approve', value: '42:plan', style: 'primary' },
                { label: 'Reject', actionId: 'mk8s.reject', value: '42:plan', style: 'danger' },
                { label: 'Roll back', actionId: 'mk8s.rollback', value: '42:rollback' },
              ],
            },
            parent.ts,
          );
          await this.port.update(parent, { text: `job 42 awaiting approval: ${input.text}` });
          return { ack: { text: 'queued as job 42' }, visibility: 'in_channel' };
        }
        case 'status':
          return {
            ack: { text: 'reading status of prod…' },
            visibility: 'ephemeral',
            followUp: async () => {
              await turns(2);
              this.events.push('followUp status');
              return { text: 'prod: high-availability: yes', body: 'k8s-1  Ready  v1.22.3' };
            },
          };
        case 'slow':
          await this.gate;
          return { ack: { text: 'slow done' }, visibility: 'ephemeral' };
        case 'boom':
          throw new Error('redis is down');
        default:
          return { ack: { text: `unknown verb '${verb ?? ''}'` }, visibility: 'ephemeral' };
      }
    } finally {
      this.events.push(`end ${input.text}`);
    }
  }

  handleAction(input: ActionInput): Promise<ChatMessage | undefined> {
    this.actions.push(input);
    if (input.actionId === 'mk8s.rollback') return Promise.resolve(undefined);
    return Promise.resolve({ text: `${input.actionId === 'mk8s.approve' ? 'approved' : 'rejected'} job ${input.value} as ${input.user}` });
  }
}

function setup(): { chat: ConsoleChat; core: RecordingCore; input: PassThrough; out: () => string } {
  const input = new PassThrough();
  const output = sink();
  const chat = createConsoleChat({ input, output: output.stream, user: 'alice', channel: 'prod' });
  const core = new RecordingCore(chat.port);
  chat.attach(core);
  return { chat, core, input, out: output.text };
}

describe('console chat', () => {
  it('runs a piped script in order: commands, as, approve/reject, press; ends at EOF', async () => {
    const { chat, core, input, out } = setup();
    const done = chat.start();
    input.end(
      [
        '/mk8s upgrade k8s-1 1.23/stable',
        '',
        'status',
        'as bob',
        'approve 42',
        'reject 42:plan',
        'press 3',
        'channel C0STAGE001',
        '/mk8s   status  ',
      ].join('\n'),
    );
    await done;

    expect(core.commands).toEqual([
      { user: 'alice', channel: 'prod', text: 'upgrade k8s-1 1.23/stable' },
      { user: 'alice', channel: 'prod', text: 'status' },
      { user: 'bob', channel: 'C0STAGE001', text: 'status' },
    ]);
    expect(core.actions).toEqual([
      // approve/reject press the newest such button shown for the job: its value and message.
      { user: 'bob', channel: 'prod', messageTs: expect.stringMatching(/^\d+\.\d{6}$/), actionId: 'mk8s.approve', value: '42:plan' },
      { user: 'bob', channel: 'prod', messageTs: expect.stringMatching(/^\d+\.\d{6}$/), actionId: 'mk8s.reject', value: '42:plan' },
      { user: 'bob', channel: 'prod', messageTs: expect.stringMatching(/^\d+\.\d{6}$/), actionId: 'mk8s.rollback', value: '42:rollback' },
    ]);
    // Each command is awaited, follow-up included, before the next line runs.
    expect(core.events).toEqual([
      'start upgrade k8s-1 1.23/stable',
      'end upgrade k8s-1 1.23/stable',
      'start status',
      'end status',
      'followUp status',
      'start status',
      'end status',
      'followUp status',
    ]);
    expect(chat.user).toBe('bob');
    expect(chat.channel).toBe('C0STAGE001');

    const text = out();
    expect(text).toContain('#prod  job 42 queued: upgrade k8s-1 1.23/stable on prod, asked by alice\n');
    expect(text).toContain('  [job 42] step 1/6: read k8s-1 — done\n');
    expect(text).toContain('  [job 42] Approve the plan for job 42?\n');
    expect(text).toContain('  [job 42]     snap refresh microk8s --channel 1.23/stable\n');
    expect(text).not.toContain('```');
    expect(text).toContain('  [job 42]     — requested by alice\n');
    expect(text).toContain('[Approve] type: approve 42\n');
    expect(text).toContain('[Reject] type: reject 42\n');
    expect(text).toContain('[Roll back] type: press 3\n');
    expect(text).toContain('#prod  (update) job 42 awaiting approval: upgrade k8s-1 1.23/stable\n');
    expect(text).toContain('#prod  queued as job 42\n');
    expect(text).toContain('(only you) reading status of prod…\n');
    expect(text).toContain('(only you) prod: high-availability: yes\n    k8s-1  Ready  v1.22.3\n');
    expect(text).toContain('now acting as bob\n');
    expect(text).toContain('(only you) approved job 42:plan as bob\n');
    expect(text).toContain('(only you) rejected job 42:plan as bob\n');
    expect(text).toContain('now in channel C0STAGE001\n');
    // The ack comes before its follow-up.
    expect(text.indexOf('reading status of prod')).toBeLessThan(text.indexOf('prod: high-availability'));
  });

  it('refuses bad console input without calling the core, and survives a failing core', async () => {
    const { chat, core, input, out } = setup();
    const done = chat.start();
    input.end(['as Bob!', 'as', 'approve', 'approve 4x', 'reject 42; reboot', 'press 9', 'press x', 'channel ../etc', '/deploy now', 'boom', 'as U0123ABCD', 'status'].join('\n'));
    await done;
    expect(core.actions).toEqual([]);
    expect(core.commands.map((c) => [c.user, c.text])).toEqual([
      ['alice', 'boom'],
      ['U0123ABCD', 'status'],
    ]);
    const text = out();
    expect(text).toContain('usage: as <user> — a lowercase name such as bob, or a Slack user id such as U012AB3CD\n');
    expect(text).toContain('usage: approve <job> — the job number, e.g. approve 42\n');
    expect(text).toContain('usage: reject <job> — the job number, e.g. reject 42\n');
    expect(text).toContain('no button 9; type press <n> with a number shown next to a button\n');
    expect(text).toContain('usage: channel <id>');
    expect(text).toMatch(/unknown command \/deploy; commands start with \/mk8s/);
    expect(text).toContain('error: redis is down\n');
    expect(text).toContain('now acting as U0123ABCD\n');
  });

  it('quit stops reading even with lines left', async () => {
    const { chat, core, input } = setup();
    const done = chat.start();
    input.write('status\nquit\nupgrade k8s-1 1.23/stable\n');
    await done;
    expect(core.commands.map((c) => c.text)).toEqual(['status']);
    input.end();
  });

  it('at EOF, start() waits for the command in flight', async () => {
    const { chat, core, input, out } = setup();
    const gate = deferred();
    core.gate = gate.promise;
    let finished = false;
    const done = chat.start().then(() => {
      finished = true;
    });
    input.end('slow\n');
    await turns(10);
    expect(core.events).toEqual(['start slow']);
    expect(finished).toBe(false);
    gate.resolve();
    await done;
    expect(core.events).toEqual(['start slow', 'end slow']);
    expect(out()).toContain('(only you) slow done\n');
  });

  it('stop() ends start()', async () => {
    const { chat, input } = setup();
    const done = chat.start();
    chat.stop();
    await done;
    input.end();
  });

  it('without a core it says so', async () => {
    const input = new PassThrough();
    const output = sink();
    const chat = createConsoleChat({ input, output: output.stream, user: 'alice', channel: 'prod' });
    const done = chat.start();
    input.end('status\napprove 1\n');
    await done;
    expect(output.text()).toBe('no bot is attached yet\nno Approve button of job 1 has been shown here; nothing pressed\n');
  });
});

describe('ConsoleChatPort', () => {
  it('labels threads from the parent text, or by ts; ts values are unique', async () => {
    const output = sink();
    const port = new ConsoleChatPort({ output: output.stream });
    const a = await port.post('prod', { text: 'job 7 running: status' });
    const b = await port.post('prod', { text: 'daily report' });
    const reply = await port.post('prod', { text: 'step done' }, a.ts);
    await port.post('prod', { text: 'note' }, b.ts);
    await port.update(reply, { text: 'step done (2.1 s)' });
    await port.uploadFile('prod', a.ts, '/var/backups/k8s-1.tar.gz', 'datastore backup');
    expect(new Set([a.ts, b.ts, reply.ts]).size).toBe(3);
    expect(output.text()).toBe(
      [
        '#prod  job 7 running: status',
        '#prod  daily report',
        '  [job 7] step done',
        `  [thread ${b.ts}] note`,
        '  [job 7] (update) step done (2.1 s)',
        '  [job 7] file: datastore backup → /var/backups/k8s-1.tar.gz',
        '',
      ].join('\n'),
    );
    expect(await port.usergroupMembers('S0123')).toEqual([]);
  });

  it('marks ephemeral messages for the acting user or names the other user; shows confirm dialogs', async () => {
    const output = sink();
    const port = new ConsoleChatPort({ output: output.stream });
    port.setActingUser('bob');
    await port.ephemeral('prod', 'bob', { text: 'two-person rule: the requester cannot approve their own job' });
    await port.ephemeral('prod', 'alice', { text: 'job 9 was approved' });
    const parent = await port.post('prod', { text: 'job 9 failed' });
    await port.post(
      'prod',
      {
        text: 'Refresh failed on k8s-1',
        buttons: [{ label: 'Roll back', actionId: 'mk8s.rollback', value: '9:rollback', confirm: { title: 'Roll back k8s-1?', text: 'snap revert microk8s', confirm: 'Roll back', deny: 'Cancel' } }],
      },
      parent.ts,
    );
    expect(output.text()).toContain('(only you) two-person rule');
    expect(output.text()).toContain('(only alice) job 9 was approved');
    expect(output.text()).toContain('  [job 9]     [Roll back] type: press 1 (Roll back k8s-1?: snap revert microk8s)\n');
    expect(port.button(1)).toEqual({ actionId: 'mk8s.rollback', value: '9:rollback', label: 'Roll back', channel: 'prod', messageTs: expect.any(String) });
    expect(port.button(2)).toBeUndefined();
  });
});
