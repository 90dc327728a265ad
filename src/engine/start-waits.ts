/**
 * When a mutating job may change its cluster: not before its scheduled start (`--at`)
 * and, when the cluster has maintenance windows (`policy.windows`), only inside one.
 * A job that is ready outside a window is parked — a `wait` gate, a BullMQ delayed job
 * that holds no worker — until the next window opens, and its thread says when that
 * is. `--now` replaces the window with a destructive approval that says so.
 *
 * Every "is it open" answer is a memo, so an activation after a crash replays the same
 * decision instead of looking at the clock again.
 */
import { describeInstant, describeWindows, nextWindow, openWindow } from '../schedule/windows.ts';
import type { RunContext } from './context.ts';

type Verdict = 'open' | { until: number };

function zoneOf(run: RunContext): string {
  return run.cluster.policy.windows[0]?.zone ?? 'UTC';
}

/** Open now, or closed until the next window starts. */
function windowVerdict(run: RunContext): Verdict {
  const windows = run.cluster.policy.windows;
  const now = run.clock.now();
  if (windows.length === 0 || openWindow(windows, now)) return 'open';
  const next = nextWindow(windows, now);
  return next ? { until: next.start } : 'open';
}

async function scheduledStart(run: RunContext): Promise<void> {
  const at = run.request.startAt;
  if (at === undefined) return;
  const due = await run.memo(() => run.clock.now() >= at);
  if (due) return;
  const when = describeInstant(at, zoneOf(run));
  await run.wait({
    title: `Scheduled: starts at ${when}`,
    what: `Scheduled (--at): nothing changes on the nodes before ${when}. The cluster stays held for this job until then; the plan is checked again when it starts.`,
    until: at,
    options: [{ id: 'now', label: 'Start now', role: 'operator' }],
  });
}

/** After an approval (or before a job that has none): the scheduled start, then the window. */
export async function awaitStart(run: RunContext): Promise<void> {
  await scheduledStart(run);
  await awaitWindow(run, 'start');
}

/**
 * Parks the job while no maintenance window is open. `start`: a job about to begin its
 * changes; `boundary`: a rolling upgrade between two nodes (`after` names what is done).
 */
export async function awaitWindow(run: RunContext, at: 'start' | 'boundary', after?: string): Promise<void> {
  const windows = run.cluster.policy.windows;
  if (windows.length === 0) return;
  // The override is read inside the memo, so a replay takes the same path as the first run.
  const verdict = await run.memo<Verdict>(() => (run.windowOverride ? 'open' : windowVerdict(run)));
  if (verdict === 'open') return;
  const when = describeInstant(verdict.until, zoneOf(run));
  if (run.request.overrideWindow) {
    await run.approval(
      {
        title: 'Run outside the maintenance window (--now)',
        what: `Requested with --now: this job changes the cluster now, outside its maintenance windows (${describeWindows(windows)}); the next window opens ${when}.`,
        why: 'The windows are when the team agreed changes may happen; --now overrides them for this whole job.',
        destructive: true,
      },
      { thenAwaitStart: false },
    );
    await run.setWindowOverride();
    return;
  }
  const stopped = at === 'boundary' ? `The maintenance window closed: the rollout stopped after ${after ?? 'the last node'}, at a node boundary. ` : '';
  const choice = await run.wait({
    title: at === 'boundary' ? `Paused until the next maintenance window: ${when}` : `Waiting for the maintenance window: starts ${when}`,
    what: `${stopped}${at === 'boundary' ? 'It resumes' : 'It starts'} when the next window opens, ${when} (windows: ${describeWindows(windows)}), or on request.`,
    until: verdict.until,
    options: [{ id: 'now', label: at === 'boundary' ? 'Resume now' : 'Start now', role: 'approver', destructive: true, style: 'danger' }],
  });
  if (choice === 'now') await run.setWindowOverride();
}
