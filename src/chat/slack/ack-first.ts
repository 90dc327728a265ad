/**
 * Acks first: Slack wants a slash command's ack within 3 s, and takes its answer on response_url
 * for 30 minutes. So a follow-up (a `status` read, a precheck's verdict, a live dry run) waits
 * while requests of this process are still waiting for their ack, and starts once none is (at
 * most `maxWaitMs` later): in a burst of commands the acks go out before the answers are worked
 * out, instead of every ack queueing behind SSH reads and response_url posts on the one event loop.
 *
 *   const gate = new AckFirst();
 *   gate.track(server);            // HTTP: every request, from arrival to its response
 *   gate.begin(); …ack… gate.end();  // one command (Socket Mode has no HTTP request)
 *   await gate.idle(1000);         // before a follow-up
 */
import type { Server } from 'node:http';

export class AckFirst {
  private inFlight = 0;
  private waiters: Array<() => void> = [];

  /** Counts every HTTP request of `server` until its response is written (or its socket closes). */
  track(server: Server): void {
    server.on('request', (_req, res) => {
      this.begin();
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        this.end();
      };
      res.once('finish', end);
      res.once('close', end);
    });
  }

  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.inFlight > 0 || this.waiters.length === 0) return;
    // After the I/O of this turn: requests that arrived with this one get read (and counted) first.
    setImmediate(() => {
      if (this.inFlight > 0) return;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }

  /** Resolves when no request waits for its ack, or after maxWaitMs at the latest. */
  idle(maxWaitMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      }, maxWaitMs);
      this.waiters.push(waiter);
    });
  }
}
