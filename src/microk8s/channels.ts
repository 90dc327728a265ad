/**
 * Snap channels of MicroK8s (`<track>/<risk>[/<branch>]`, tracks `<major>.<minor>` or `latest`)
 * and the upgrade rule: one minor at a time, the same minor again is fine, never a downgrade,
 * and no guessing about `latest/…`.
 */
import { excerpt } from '../util/excerpt.ts';
import { InvalidValueError } from './errors.ts';
import type { SnapState } from './types.ts';

export const RISKS = ['stable', 'candidate', 'beta', 'edge'] as const;
export type Risk = (typeof RISKS)[number];

export interface SnapChannel {
  /** Normalised `<track>/<risk>[/<branch>]`. */
  name: string;
  track: string;
  risk: Risk;
  branch?: string;
  /** Kubernetes version of a `<major>.<minor>` track; absent for `latest` and other tracks. */
  major?: number;
  minor?: number;
}

/** A track as snapd names them: `latest`, `1.23`, `1.28-strict`, `1.27-eksd`. */
const TRACK = /^[a-z0-9][a-z0-9.-]{0,38}$/;
const BRANCH = /^[a-z0-9][a-z0-9._-]{0,39}$/;
const MINOR_TRACK = /^([1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function isRisk(text: string | undefined): text is Risk {
  return RISKS.some((r) => r === text);
}

/** Why `text` is not a valid channel, or undefined when it is. */
export function channelProblem(text: string): string | undefined {
  try {
    parseChannel(text);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The one channel parser — for what a person types and what a node tracks: `1.23/stable`,
 * `latest/edge`, `1.23/candidate/hotfix-1`, `1.28-strict/stable`. Throws an InvalidValueError
 * whose message names the mistake and what is allowed (it goes to the requester as is).
 */
export function parseChannel(text: string): SnapChannel {
  const parts = text.split('/');
  const [track = '', risk, branch] = parts;
  const example = 'such as 1.23/stable or latest/edge';
  if (parts.length === 1) {
    if (isRisk(track)) throw new InvalidValueError(`'${track}' has no track; write the version too, such as 1.23/${track}`);
    if (MINOR_TRACK.test(track) || track === 'latest') throw new InvalidValueError(`add the risk to '${excerpt(track)}': ${track}/stable, ${track}/candidate, ${track}/beta or ${track}/edge`);
    throw new InvalidValueError(`'${excerpt(text)}' is not a snap channel; expected <major>.<minor>/<risk> or latest/<risk>, ${example}`);
  }
  if (parts.length > 3) throw new InvalidValueError(`'${excerpt(text)}' has too many parts; expected <track>/<risk>[/<branch>], ${example}`);
  if (!TRACK.test(track)) throw new InvalidValueError(`unknown track '${excerpt(track)}' in '${excerpt(text)}'; use <major>.<minor> (such as 1.23) or latest`);
  if (!isRisk(risk)) {
    const near = RISKS.map((r) => ({ r, d: distance((risk ?? '').toLowerCase(), r) })).toSorted((x, y) => x.d - y.d)[0];
    const hint = near && near.d <= 2 && (risk ?? '') !== '' ? ` (did you mean ${track}/${near.r}?)` : '';
    throw new InvalidValueError(`unknown risk '${excerpt(risk ?? '')}'; use stable, candidate, beta or edge${hint}`);
  }
  if (branch !== undefined && !BRANCH.test(branch)) {
    throw new InvalidValueError(`bad branch '${excerpt(branch)}'; a branch is lowercase letters, digits, '.', '_' and '-'`);
  }
  const channel: SnapChannel = { name: text, track, risk };
  if (branch !== undefined) channel.branch = branch;
  const m = MINOR_TRACK.exec(track);
  if (m) {
    channel.major = Number(m[1]);
    channel.minor = Number(m[2]);
  }
  return channel;
}

/**
 * A channel the bot may be asked to move nodes to: parsed by parseChannel, on a
 * `<major>.<minor>` or `latest` track (not a `-strict` or other flavoured track). Undefined, or
 * what is wrong.
 */
export function requestableChannelProblem(text: string): string | undefined {
  let channel: SnapChannel;
  try {
    channel = parseChannel(text);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  if (channel.minor === undefined && channel.track !== 'latest') {
    return `unknown track '${excerpt(channel.track)}' in '${excerpt(text)}'; use <major>.<minor> (such as 1.23) or latest`;
  }
  return undefined;
}

/** `v1.22.3-3+9ec7c40ec93c73` (kubelet) or `v1.22.3` (snap) → major and minor (and patch). */
export function kubeMinor(version: string): { major: number; minor: number; patch?: number } {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!m) throw new InvalidValueError(`"${version.slice(0, 60)}" is not a Kubernetes version (expected e.g. v1.22.3)`);
  const out: { major: number; minor: number; patch?: number } = { major: Number(m[1]), minor: Number(m[2]) };
  if (m[3] !== undefined) out.patch = Number(m[3]);
  return out;
}

export type NextMinorCheck =
  | { ok: true; kind: 'same-minor' | 'next-minor'; from: SnapChannel; to: SnapChannel }
  | { ok: false; message: string };

function refuse(message: string): NextMinorCheck {
  return { ok: false, message };
}

/**
 * May a node on `current` move to channel `target`? The same minor (a risk change, or a
 * re-run) and the next minor are fine; skipping a minor, a downgrade, a major change and any
 * move to or from `latest/…` are refused with a message that names the allowed channel.
 */
export function nextMinorCheck(current: SnapState, target: string): NextMinorCheck {
  let to: SnapChannel;
  try {
    to = parseChannel(target);
  } catch (err) {
    return refuse(err instanceof Error ? err.message : String(err));
  }
  let installed: { major: number; minor: number } | undefined;
  try {
    installed = kubeMinor(current.version);
  } catch {
    installed = undefined;
  }
  const fromTracking = current.tracking ? channelProblem(current.tracking) === undefined : false;
  const from = fromTracking ? parseChannel(current.tracking) : undefined;
  const runs = `${current.version}${current.tracking ? ` on ${current.tracking}` : ''}`;
  const pinHint = installed ? ` Pin it to its own minor first with \`sudo snap refresh microk8s --channel=${installed.major}.${installed.minor}/stable\` (no version change), then upgrade one minor at a time.` : '';

  if (from?.track === 'latest') {
    return refuse(
      `The node tracks ${current.tracking}, which follows the newest MicroK8s release whatever its minor, so the bot cannot check a one-minor step from it. It runs ${current.version}.${pinHint}`,
    );
  }
  const nextFromInstalled = installed ? `${installed.major}.${installed.minor + 1}/${to.risk}` : undefined;
  if (to.track === 'latest') {
    return refuse(
      `${target} follows the newest MicroK8s release, whatever minor that is, so it may skip minors; the bot needs an explicit <major>.<minor>/<risk> channel${nextFromInstalled ? ` such as ${nextFromInstalled}` : ''}.`,
    );
  }
  if (to.minor === undefined || to.major === undefined) {
    return refuse(`${target} is not on a Kubernetes minor track; the bot only moves between explicit <major>.<minor>/<risk> channels such as 1.23/stable.`);
  }
  if (!from || from.minor === undefined || from.major === undefined) {
    return refuse(
      `The node ${current.tracking ? `tracks ${current.tracking}, which is not a <major>.<minor> track` : 'does not track a channel (installed from a file?)'}, so the bot cannot check a one-minor step. It runs ${runs}.${pinHint}`,
    );
  }
  if (to.major !== from.major) {
    return refuse(`${target} changes the major version (from ${from.major}.x); MicroK8s upgrades go one minor at a time within a major version.`);
  }
  // The installed version can be ahead of the tracked track (e.g. a pinned revision): never go below it.
  const curMinor = installed && installed.major === from.major ? Math.max(from.minor, installed.minor) : from.minor;
  const cur = `${from.major}.${curMinor}`;
  if (to.minor < curMinor) {
    return refuse(
      `${target} would be a downgrade: the node runs ${runs} (Kubernetes ${cur}). Downgrades are not supported; to undo a recent upgrade, roll back (snap revert) instead.`,
    );
  }
  if (to.minor === curMinor) return { ok: true, kind: 'same-minor', from, to };
  if (to.minor === curMinor + 1) return { ok: true, kind: 'next-minor', from, to };
  return refuse(
    `One minor version at a time: the node runs ${runs} (Kubernetes ${cur}), so the next channel is ${from.major}.${curMinor + 1}/${to.risk}, not ${target}. Upgrade through each minor in turn.`,
  );
}
