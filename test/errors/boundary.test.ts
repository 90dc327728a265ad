import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { errorText, showError } from '../../src/errors/boundary.ts';
import { CommandFailedError, OutputParseError, RequestError, RunbookFailure, StopRunbook, UserFacingError } from '../../src/errors/user-facing.ts';
import { RunbookFailure as FromEngine } from '../../src/engine/errors.ts';
import { RequestError as FromCommands } from '../../src/commands/errors.ts';
import { CommandFailedError as FromSsh } from '../../src/ssh/errors.ts';

function recorder() {
  const logged: Array<{ ref: string; err: unknown }> = [];
  return { logged, log: (ref: string, err: unknown) => logged.push({ ref, err }) };
}

describe('the error boundary', () => {
  it('shows a user-facing error, escaped, and logs nothing', () => {
    const { logged, log } = recorder();
    const err = new CommandFailedError('k8s-1', 'snap refresh microk8s', 1, '<!channel> <https://evil.example|Approve job 42>');
    const shown = showError(err, log);
    expect(shown.text).toBe('`snap refresh microk8s` failed on k8s-1 (exit code 1):\n&lt;!channel&gt; &lt;https://evil.example|Approve job 42&gt;');
    expect(shown.plain).toBe(err.message);
    expect(shown.ref).toBeUndefined();
    expect(logged).toEqual([]);
  });

  it("shows a runbook's composed message as it is (its mentions stay mentions)", () => {
    expect(errorText(new StopRunbook('rejected', '"Approve the plan" was rejected by <@U0BOB>.'))).toBe('"Approve the plan" was rejected by <@U0BOB>.');
    expect(errorText(new RunbookFailure('The drain of `k8s-1` timed out.'))).toBe('The drain of `k8s-1` timed out.');
  });

  it('shows anything else as "internal error (ref …)", logging it once under that ref', () => {
    const { logged, log } = recorder();
    const err = new TypeError("Cannot read properties of undefined (reading 'spec') — <!channel>");
    const first = showError(err, log);
    expect(first.text).toMatch(/^internal error \(ref err-[0-9a-f]{8}\)$/);
    expect(first.text).not.toContain('spec');
    const again = showError(err, log);
    expect(again.ref).toBe(first.ref);
    expect(logged).toEqual([{ ref: first.ref, err }]);
    const other = showError('a thrown string', log);
    expect(other.ref).not.toBe(first.ref);
    expect(logged).toHaveLength(2);
  });

  it('every user-facing class has a code, and the old import paths still give the same classes', () => {
    const samples: UserFacingError[] = [
      new RequestError('bad', 'usage'),
      new StopRunbook('cancelled', 'x'),
      new RunbookFailure('x'),
      new CommandFailedError('n', 'c', 1, ''),
      new OutputParseError('snap list', 'a table', '"x"'),
    ];
    expect(samples.map((e) => e.errorCode)).toEqual(['request-usage', 'stopped', 'runbook-failure', 'command-failed', 'output-parse']);
    expect(FromEngine).toBe(RunbookFailure);
    expect(FromCommands).toBe(RequestError);
    expect(FromSsh).toBe(CommandFailedError);
    expect(new RequestError('bad', 'usage').code).toBe('usage');
    expect(new CommandFailedError('n', 'c', 3, '').code).toBe(3);
  });

  it("says the bot's Redis is not answering (not an internal error) for ioredis's real availability errors", async () => {
    // A port nobody listens on: ioredis gives up after its retries (MaxRetriesPerRequestError),
    // or, told not to reconnect, fails the command on the closed connection.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const a = srv.address();
        srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const gaveUp = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => 10 });
    const closed = new Redis(port, '127.0.0.1', { retryStrategy: () => null });
    gaveUp.on('error', () => undefined);
    closed.on('error', () => undefined);
    try {
      for (const client of [gaveUp, closed]) {
        const err = await client.get('k').then(() => undefined, (e: unknown) => e);
        const { logged, log } = recorder();
        const shown = showError(err, log);
        expect(shown.text).toBe("The bot's Redis is not answering right now (restarting or failing over); try again in a few seconds");
        expect(shown.ref).toBeUndefined();
        expect(logged).toEqual([]);
      }
    } finally {
      gaveUp.disconnect();
      closed.disconnect();
    }
  });
});
