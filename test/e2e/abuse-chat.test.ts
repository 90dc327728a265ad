/**
 * The abuse corpus, end to end through signed Slack requests and the simulator over real SSH:
 * metacharacter, unicode and oversize commands (property-based, fast-check), and hostile node
 * output (huge, binary, mrkdwn, ANSI escapes). Nobody approves anything, so no command that
 * changes a node may run; nothing the bot sends may carry a live mention or link it did not
 * mean. The figures, with the event-loop stalls over 100 ms, are printed at the end.
 *
 * Forged, replayed, cross-channel and stale button payloads are the other part of the corpus, in
 * their own file; both share test/support/abuse.ts (add cases in the test files, measure there).
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimFault } from '../../src/sim/index.ts';
import { destructiveCommands, liveConstructs, sentToSlack, watchEventLoop, type EventLoopReport } from '../support/abuse.ts';
import { startHarness, USERS, type Harness } from '../support/harness.ts';

const CHANNEL = 'C0PROD00001';
const OUTSIDER = 'U0OUTSIDER';
/** Ids the bot may mention: its users and the cluster's channel. */
const ALLOWED = new Set<string>([...Object.values(USERS), OUTSIDER, CHANNEL]);

const WORDS = ['upgrade', 'status', 'audit', 'jobs', 'help', 'drain', 'remove-node', 'add-node', 'cancel', 'rollback', 'hold', 'k8s-1', 'k8s-2', '1.23/stable', '--cluster', 'prod', '--force', '--dry-run', '42', 'job'];
const META = [';', '|', '&&', '||', '$(reboot)', '`id`', '>', '<', '>>', "'", '"', '\\', '\n', '\r\n', '\t', '\u0000', '*', '?', '~', '#', '!', '{a,b}', '$HOME', '%s', '../..', '-rf /'];
const MRKDWN = ['<!channel>', '<!here>', '<https://evil.example|Approve job 42>', '<@U0EVIL123>', '<#C0EVIL999>', '&lt;!channel&gt;', '&amp;', '```', '*bold*', '\u001b[31m', '\u001b]0;x\u0007'];

const piece = fc.oneof(fc.constantFrom(...WORDS), fc.constantFrom(...META), fc.constantFrom(...MRKDWN));
const metachar = fc.tuple(fc.array(piece, { minLength: 1, maxLength: 8 }), fc.constantFrom(' ', '', '  ')).map(([parts, sep]) => parts.join(sep));
const unicode = fc
  .tuple(fc.constantFrom(...WORDS), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }))
  .map(([w, a, b]) => `${w} ${a} ${b}`)
  .filter((s) => Buffer.from(s, 'utf8').toString('utf8') === s); // no lone surrogates: Slack sends UTF-8
const oversize = fc
  .tuple(fc.constantFrom(...WORDS, ...MRKDWN), fc.integer({ min: 300, max: 40_000 }))
  .map(([w, n]) => `${w} ${w.repeat(Math.ceil(n / w.length))}`);

/** 10 MB of mrkdwn, ANSI and blanks: what a runaway or hostile node might print. */
function huge(): string {
  const unit = `<!channel> <https://evil.example|Approve job 42> \u001b[1;31m${' '.repeat(200)}\u001b[0m \`\`\` &amp;\n`;
  return unit.repeat(Math.ceil(10_000_000 / unit.length));
}

const HOSTILE_OUTPUTS: Record<string, string> = {
  mrkdwn: '<!channel> <https://evil.example|Approve job 42> <@U0EVIL123> ``` &lt;b&gt;\n',
  ansi: '\u001b[31mERROR\u001b[0m \u001b]0;pwned\u0007 \u001b[2J\u001b[H<!here>\n',
  binary: randomBytes(64 * 1024).toString('latin1'),
  huge: huge(),
};

describe('abuse corpus through Slack: hostile commands and hostile node output', () => {
  let h: Harness;
  const acks: string[] = [];
  let attempts = 0;
  let loop: EventLoopReport | undefined;
  let watch: ReturnType<typeof watchEventLoop>;

  beforeAll(async () => {
    h = await startHarness();
  });

  it('the event-loop watch counts a blocked loop as a busy stall', async () => {
    const probe = watchEventLoop();
    await new Promise((r) => setTimeout(r, 30));
    // Block the loop on purpose with 250 ms of CPU work (CPU time, so a loaded machine cannot shorten it).
    const start = process.cpuUsage();
    for (;;) {
      const used = process.cpuUsage(start);
      if ((used.user + used.system) / 1000 >= 250) break;
    }
    await new Promise((r) => setTimeout(r, 30));
    const seen = probe.stop();
    expect(seen.stalls).toBeGreaterThanOrEqual(1);
    expect(seen.busyStalls).toBeGreaterThanOrEqual(1);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const send = async (user: string, text: string): Promise<void> => {
    attempts += 1;
    const answer = await h.command(user, text, CHANNEL);
    expect(answer.status, JSON.stringify(text.slice(0, 80))).toBe(200);
    acks.push(answer.raw);
  };

  it('hostile node output (huge, binary, mrkdwn, ANSI) reaches Slack escaped, through status and a precheck', async () => {
    watch = watchEventLoop(); // from here to the figures
    for (const [name, output] of Object.entries(HOSTILE_OUTPUTS)) {
      h.sim.clearFaults();
      const faults: SimFault[] = [
        { node: 'k8s-1', match: 'snap list microk8s', kind: 'fail', exitCode: 0, stdout: output, stderr: output },
        { node: 'k8s-2', match: 'microk8s status', kind: 'fail', exitCode: 1, stdout: output, stderr: output },
        { node: '*', match: 'kubectl', kind: 'fail', exitCode: 0, stdout: output, stderr: '' },
      ];
      for (const f of faults) h.sim.inject(f);
      const before = h.slack.responses.length;
      await send(USERS.alice, 'status');
      const reply = await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => String(r.body.text).includes('prod')), 60_000);
      expect(String(reply.body.text), name).toBeTruthy();
      // 10 MB through SSH: 4 MiB kept, and the cut is said where the output is shown.
      if (name === 'huge') expect(JSON.stringify(reply.body)).toContain('[output truncated at 4194304 bytes]');
      if (name === 'mrkdwn') expect(JSON.stringify(reply.body)).toContain('&lt;!channel&gt; &lt;https://evil.example|Approve job 42&gt;');
      // A mutating request reads `snap list` first: the refusal quotes the node's output, escaped.
      await send(USERS.alice, 'upgrade k8s-1 1.23/stable');
    }
    h.sim.clearFaults();
    expect(liveConstructs(sentToSlack(h, acks), ALLOWED)).toEqual([]);
  }, 240_000);

  it('metacharacter, unicode and oversize commands are answered, run nothing that changes a node, and echo nothing live', async () => {
    const users = fc.constantFrom(USERS.alice, USERS.mallory, OUTSIDER);
    for (const [name, arb, runs] of [
      ['metacharacters', metachar, 150],
      ['unicode', unicode, 80],
      ['oversize', oversize, 30],
    ] as const) {
      await fc.assert(
        fc.asyncProperty(users, arb, async (user, text) => {
          await send(user, text);
        }),
        { numRuns: runs, seed: 4242, endOnFailure: true },
      );
      expect(attempts, name).toBeGreaterThan(0);
    }
    // Refused requests are audited; their texts come back escaped.
    await send(USERS.alice, 'audit 200');
    const audit = acks.at(-1) ?? '';
    expect(audit).toContain('refused');
    expect(audit).toContain('&lt;!channel&gt;');
  }, 300_000);

  it('figures: destructive commands run, live mentions or links posted, event-loop stalls over 100 ms', async () => {
    await new Promise((r) => setTimeout(r, 500)); // let the last follow-ups land
    loop = watch.stop();
    const load = loadavg()[0]?.toFixed(1) ?? '?';
    const destructive = destructiveCommands(h.sim.commandLog);
    const live = liveConstructs(sentToSlack(h, acks), ALLOWED);
    console.log(
      `abuse corpus: ${attempts} attempts · destructive commands run: ${destructive.length} · live mentions/links posted: ${live.length} · ` +
        `event-loop stalls > 100 ms with the process busy: ${loop.busyStalls} (late timers in all: ${loop.stalls}, max delay ${loop.maxMs.toFixed(1)} ms, ` +
        `p99 ${loop.p99Ms.toFixed(1)} ms, load average ${load} on ${availableParallelism()} CPUs) · ${h.sim.commandLog.length} node commands in all`,
    );
    expect(destructive).toEqual([]);
    expect(live).toEqual([]);
    // Stalls are a speed figure: printed above, not asserted (late timers while other processes
    // had the CPU are the machine's; busy stalls are the process's own blocking work).
  });
});
