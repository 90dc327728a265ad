import { RequestError } from '../commands/errors.ts';
import type { ParsedCommand } from '../commands/parse.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import type { JobRequest } from '../engine/runbook.ts';
import { parseStartTime } from '../schedule/start-time.ts';
import { describeInstant, describeWindows, nextWindow, openWindow } from '../schedule/windows.ts';

export type StartTiming = Pick<JobRequest, 'startAt' | 'overrideWindow'>;

/** `--at` and `--now` of a mutating request, checked against the clock and the cluster's windows (RequestError when wrong). */
export function startTiming(parsed: ParsedCommand, cluster: ClusterConfig, now: number): StartTiming {
  const windows = cluster.policy.windows;
  if (parsed.now && windows.length === 0) {
    throw new RequestError(`cluster ${cluster.name} has no maintenance windows (policy.windows), so --now overrides nothing; run it without --now`, 'unknown-flag');
  }
  const out: StartTiming = parsed.now ? { overrideWindow: true } : {};
  if (parsed.at !== undefined) {
    const start = parseStartTime(parsed.at, now, windows, parsed.now === true);
    if (!start.ok) throw new RequestError(start.message, 'bad-argument');
    out.startAt = start.at;
  }
  return out;
}

/** A line for the dry run and the ack: when the job will start changing the cluster. */
export function timingNote(timing: StartTiming, cluster: ClusterConfig, now?: number): string {
  const windows = cluster.policy.windows;
  const zone = windows[0]?.zone ?? 'UTC';
  if (timing.startAt !== undefined) return `Scheduled: nothing changes before ${describeInstant(timing.startAt, zone)}; approvals can be given before then.\n`;
  if (windows.length === 0) return '';
  if (timing.overrideWindow) return `--now: runs outside the maintenance windows (${describeWindows(windows)}) after a destructive approval.\n`;
  if (now !== undefined && !openWindow(windows, now)) {
    const next = nextWindow(windows, now);
    return `Outside the maintenance windows (${describeWindows(windows)}): once approved it waits${next ? ` until ${describeInstant(next.start, zone)}` : ''}.\n`;
  }
  return `Maintenance windows: ${describeWindows(windows)}.\n`;
}
