/**
 * Parsers for snapd's CLI output about the microk8s snap: `snap list`, `snap info`,
 * `snap refresh --channel`, `snap revert`, `snap refresh --hold/--unhold`.
 *
 * Real output differs with the terminal: the publisher badge is `✓` on a UTF-8 TTY and `**`
 * (older snapd: `*`) otherwise, closed channels show `–`/`↑` or `--`/`^`, colours only on a TTY.
 * All of those are accepted, as are extra blank lines, trailing spaces and CRLF.
 */
import { OutputParseError, stripAnsi } from './errors.ts';
import type { HoldResult, RefreshResult, SnapChannelInfo, SnapInfo, SnapState, VersionInfo } from './types.ts';

const SNAP = 'microk8s';

/** Removes ANSI escapes and CRs, splits into lines with trailing blanks removed. */
export function outputLines(text: string): string[] {
  return stripAnsi(text)
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.trimEnd());
}

function notesOf(field: string | undefined): string[] {
  if (!field || field === '-' || field === '--') return [];
  return field.split(',').filter((n) => n !== '');
}

const REVISION = /^x?\d+$/;

/** `snap list microk8s` (also `snap list --all microk8s`: the active revision is chosen). */
export function parseSnapList(text: string): SnapState {
  const cmd = 'snap list microk8s';
  if (/error: no matching snaps installed/.test(text)) {
    throw new OutputParseError(cmd, 'the microk8s snap to be installed', 'snapd says "no matching snaps installed"');
  }
  const lines = outputLines(text);
  const headerAt = lines.findIndex((l) => /^\s*Name\s+Version\s+Rev\b/.test(l));
  if (headerAt < 0) throw OutputParseError.of(cmd, 'a table with a "Name  Version  Rev  Tracking  Publisher  Notes" header', text);
  const columns = (lines[headerAt] ?? '').trim().split(/\s+/);
  const col = (name: string): number => columns.indexOf(name);
  const rows = lines
    .slice(headerAt + 1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] === SNAP);
  if (rows.length === 0) throw OutputParseError.of(cmd, 'a "microk8s" row in the table', text);
  const notesCol = col('Notes');
  const row = rows.find((f) => !notesOf(f[notesCol]).includes('disabled')) ?? rows[0] ?? [];
  const version = row[col('Version')];
  const revision = row[col('Rev')];
  if (!version || !revision || !REVISION.test(revision)) {
    throw OutputParseError.of(cmd, 'a version and a numeric revision in the microk8s row', row.join(' '));
  }
  const trackingCol = col('Tracking');
  const tracking = trackingCol >= 0 ? (row[trackingCol] ?? '') : '';
  return {
    version,
    revision,
    tracking: tracking === '-' ? '' : tracking,
    notes: notesCol >= 0 ? notesOf(row[notesCol]) : [],
  };
}

const CLOSED = new Set(['–', '--', '-']);
const FOLLOWS = new Set(['^', '↑']);

function parseChannelRow(value: string): SnapChannelInfo {
  const tokens = value.trim().split(/\s+/);
  const first = tokens[0] ?? '';
  if (first === '' || CLOSED.has(first) || FOLLOWS.has(first)) return { closed: true };
  const info: SnapChannelInfo = { version: first };
  const revAt = tokens.findIndex((t) => /^\(x?\d+\)$/.test(t));
  if (revAt >= 0) {
    info.revision = (tokens[revAt] ?? '').slice(1, -1);
    if (revAt > 1) info.released = tokens.slice(1, revAt).join(' ');
    const size = tokens[revAt + 1];
    if (size) info.size = size;
    const notes = tokens[revAt + 2];
    if (notes !== undefined) info.notes = notesOf(notes);
  }
  return info;
}

/** `snap info microk8s`: tracking, installed version and revision, hold, channel table. */
export function parseSnapInfo(text: string): SnapInfo {
  const cmd = 'snap info microk8s';
  const notFound = /error: no snap found for "([^"]*)"/.exec(text);
  if (notFound) throw new OutputParseError(cmd, 'the microk8s snap', `snapd says no snap named "${notFound[1] ?? ''}" exists`);
  const lines = outputLines(text);
  const top: Record<string, string> = {};
  const channels: Record<string, SnapChannelInfo> = {};
  let section = '';
  for (const line of lines) {
    if (line === '') continue;
    const key = /^([a-z][a-z0-9-]*):(?:\s(.*))?$/.exec(line);
    if (key?.[1]) {
      section = key[1];
      top[section] = (key[2] ?? '').trim();
      continue;
    }
    if (section === 'channels') {
      const ch = /^\s+(\S+?):(?:\s(.*))?$/.exec(line);
      if (ch?.[1]?.includes('/')) channels[ch[1]] = parseChannelRow(ch[2] ?? '');
    }
  }
  const name = top.name;
  if (!name) throw OutputParseError.of(cmd, 'a "name:" line', text);
  const info: SnapInfo = { name, channels };
  if (top.tracking && top.tracking !== '-') info.tracking = top.tracking;
  if (top.hold) info.hold = top.hold;
  if (top['refresh-date']) info.refreshDate = top['refresh-date'];
  if (top.installed) {
    const row = parseChannelRow(top.installed);
    if (!row.version || !row.revision) {
      throw OutputParseError.of(cmd, 'an "installed:" line with a version and a (revision)', `installed: ${top.installed}`);
    }
    info.installed = { version: row.version, revision: row.revision, notes: row.notes ?? [] };
    if (row.size) info.installed.size = row.size;
  }
  return info;
}

/**
 * `snap refresh microk8s --channel=X` (stdout and stderr together):
 * `microk8s (1.23/stable) v1.23.17 from Canonical** refreshed`, or
 * `snap "microk8s" has no updates available` (exit 0), or a channel switch notice.
 */
export function parseRefreshOutput(stdout: string, stderr = ''): RefreshResult {
  const cmd = 'snap refresh microk8s';
  const text = `${stdout}\n${stderr}`;
  const lines = outputLines(text);
  const notice = lines.find((l) => /^Channel \S+ for microk8s is closed; temporarily forwarding to \S+/.test(l));
  const withNotice = (r: RefreshResult): RefreshResult => (notice ? { ...r, notice } : r);
  for (const line of lines) {
    const done = /^microk8s(?: \(([^)]+)\))? (\S+) (?:from .+ )?refreshed$/.exec(line);
    if (done?.[2]) {
      const r: RefreshResult = { changed: true, version: done[2] };
      if (done[1]) r.channel = done[1];
      return withNotice(r);
    }
    const switched = /^"?microk8s"? switched to the "?([^"\s]+)"? channel/.exec(line);
    if (switched?.[1]) return withNotice({ changed: true, channel: switched[1] });
  }
  if (/snap "microk8s" has no updates available/.test(text) || /All snaps up to date/.test(text)) return withNotice({ changed: false });
  throw OutputParseError.of(cmd, '"microk8s (<channel>) <version> from <publisher> refreshed" or "has no updates available"', text);
}

/** `snap revert microk8s`: `microk8s reverted to v1.22.3` → the version. */
export function parseRevertOutput(stdout: string, stderr = ''): { version: string } {
  const cmd = 'snap revert microk8s';
  const text = `${stdout}\n${stderr}`;
  const m = /^microk8s reverted to (\S+)$/m.exec(outputLines(text).join('\n'));
  if (m?.[1]) return { version: m[1] };
  if (/no revision to revert to/.test(text)) throw new OutputParseError(cmd, 'a revert', 'snapd says there is no revision to revert to');
  throw OutputParseError.of(cmd, '"microk8s reverted to <version>"', text);
}

/** `snap refresh --hold[=D] microk8s` and `snap refresh --unhold microk8s`. */
export function parseHoldOutput(stdout: string, stderr = ''): HoldResult {
  const cmd = 'snap refresh --hold microk8s';
  const text = outputLines(`${stdout}\n${stderr}`).join('\n');
  if (/^General refreshes of "microk8s" held indefinitely$/m.test(text)) return { held: true, until: 'forever' };
  const until = /^General refreshes of "microk8s" held until (\S+)$/m.exec(text);
  if (until?.[1]) return { held: true, until: until[1] };
  if (/^Removed general refresh hold of "microk8s"$/m.test(text)) return { held: false };
  throw OutputParseError.of(cmd, '"General refreshes of "microk8s" held …" or "Removed general refresh hold of "microk8s""', text);
}

/** `microk8s version` (1.25+): `MicroK8s v1.32.3 revision 7647`. */
export function parseVersion(text: string): VersionInfo {
  const m = /^MicroK8s (\S+) revision (\S+)$/m.exec(outputLines(text).join('\n'));
  if (!m?.[1] || !m[2]) throw OutputParseError.of('microk8s version', '"MicroK8s <version> revision <revision>"', text);
  return { version: m[1], revision: m[2] };
}

/** One row of `snap list --all microk8s`: a revision snapd keeps on the node. */
export interface KeptRevision {
  version: string;
  revision: string;
  active: boolean;
}

/** `snap list --all microk8s`: the revisions kept (the active one and the disabled ones). */
export function parseKeptRevisions(text: string): KeptRevision[] {
  parseSnapList(text); // throws a parse error naming the command when the table is not there
  const lines = outputLines(text);
  const headerAt = lines.findIndex((l) => /^\s*Name\s+Version\s+Rev\b/.test(l));
  const columns = (lines[headerAt] ?? '').trim().split(/\s+/);
  const at = (name: string) => columns.indexOf(name);
  return lines
    .slice(headerAt + 1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] === 'microk8s')
    .map((f) => ({
      version: f[at('Version')] ?? '',
      revision: f[at('Rev')] ?? '',
      active: !(f[at('Notes')] ?? '').split(',').includes('disabled'),
    }));
}
