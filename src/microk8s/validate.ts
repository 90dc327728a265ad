/**
 * Checks on every value that reaches a command line, made before anything runs (defence in
 * depth: the command parser validates first, but this layer never trusts its callers).
 */
import { isIP } from 'node:net';
import { NODE_NAME } from '../config/inventory.ts';
import { parseChannel } from './channels.ts';
import { InvalidValueError } from './errors.ts';

function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/** A Kubernetes node name: a DNS-1123 label (lowercase letters, digits, `-`, at most 63). */
export function assertNodeName(name: string): string {
  if (typeof name !== 'string' || !NODE_NAME.test(name)) {
    throw new InvalidValueError(`${typeof name === 'string' ? shown(name) : typeof name} is not a valid node name: lowercase letters, digits and "-", at most 63 characters`);
  }
  return name;
}

/** A DNS host name: dot-separated labels of letters, digits and inner `-` (never a leading `-`: no option). */
function isHostName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split('.').every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/**
 * An address to connect to (`nc`, `curl`), often read from a node (an InternalIP, a URL that
 * add-node printed): an IPv4 or IPv6 address or a host name, nothing else.
 */
export function assertHostAddress(value: string, what = 'address'): string {
  if (typeof value !== 'string' || (isIP(value) === 0 && !isHostName(value))) {
    throw new InvalidValueError(`${typeof value === 'string' ? shown(value) : typeof value} is not a valid ${what}: expected an IPv4 or IPv6 address or a host name`);
  }
  return value;
}

/** A Unix user name (the SSH user a file is handed to), as the inventory allows it. */
export function assertUserName(value: string): string {
  if (typeof value !== 'string' || !/^[a-z_][a-z0-9_-]{0,31}$/.test(value)) throw new InvalidValueError(`${typeof value === 'string' ? shown(value) : typeof value} is not a Unix user name`);
  return value;
}

/** A TCP port, 1 … 65535. */
export function assertPort(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65_535) throw new InvalidValueError(`${String(value)} is not a TCP port: expected 1 to 65535`);
  return value;
}

/** `<track>/<risk>[/<branch>]`. */
export function assertChannel(channel: string): string {
  parseChannel(channel);
  return channel;
}

/** A whole number of seconds, 1 … max. */
export function assertSeconds(value: number, what: string, max = 7 * 24 * 3600): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidValueError(`${what} must be a whole number of seconds between 1 and ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * A refresh hold for `snap refresh --hold=…`: `forever`, or a duration snapd accepts (Go
 * syntax, `72h`, `1h30m`, `90s`); `2d` is turned into `48h`. At least one second.
 */
export function holdDuration(value: string): string {
  const v = value.trim();
  if (v === 'forever') return v;
  const days = /^([1-9]\d{0,3})d$/.exec(v);
  if (days) return `${Number(days[1]) * 24}h`;
  const go = /^(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,8})s)?$/.exec(v);
  if (v !== '' && go) {
    const seconds = Number(go[1] ?? 0) * 3600 + Number(go[2] ?? 0) * 60 + Number(go[3] ?? 0);
    if (seconds >= 1) return v;
  }
  throw new InvalidValueError(`${shown(value)} is not a refresh hold: use "forever" or a duration such as 24h, 1h30m or 2d`);
}
