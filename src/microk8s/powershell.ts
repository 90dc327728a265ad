/**
 * Runs a PowerShell script on a Windows node over its OpenSSH server (reference
 * recovery-windows-addons.md §B1):
 *
 * - The default shell of Windows OpenSSH is cmd.exe, so the exec string is one plain command:
 *   `powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <b64>`,
 *   the script as base64 of its UTF-16LE bytes (the base64 alphabet is inert for cmd.exe). cmd.exe
 *   takes at most 8191 characters, which bounds the script (≈ 3 000 characters).
 * - The script starts with `$ProgressPreference='SilentlyContinue'` (no CLIXML progress records,
 *   no console-buffer errors) and `$ErrorActionPreference='Stop'` (a failing cmdlet ends the
 *   script with exit code 1), and ends with `exit $LASTEXITCODE` so a native program's or
 *   script's own exit code is the process's.
 * - Values reach the script as data: each is one single-quoted literal assigned to a variable
 *   at the top (`$KubeVersion = '1.27.1'`); the body is constant text that only names variables.
 * - A leading `#< CLIXML` block on stderr is PowerShell's serialised progress/error stream: it is
 *   cut before anything is shown.
 * - Parsers read `ConvertTo-Json -Compress` output, never formatted tables.
 */
import { UnsafePowerShellValueError } from '../errors/user-facing.ts';
import type { ExecOptions, RemoteShell } from '../ssh/types.ts';
import { OutputParseError, outputExcerpt } from './errors.ts';

export type PsValue = string | number | boolean | readonly string[];

export interface PsScript {
  /** A short name for logs, errors and the audit trail (`install containerd`). */
  name: string;
  /** Variables set at the top of the script, in order. Names: letters and digits. */
  vars?: Readonly<Record<string, PsValue>>;
  /** The script text; constant, it refers to the values only by their variables. */
  body: string;
}

export interface PsResult {
  stdout: string;
  /** stderr with a leading CLIXML block removed. */
  stderr: string;
  code: number;
  durationMs: number;
}

export const POWERSHELL_ARGS = ['powershell.exe', '-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand'] as const;
/** cmd.exe's longest command line. */
export const CMD_LINE_LIMIT = 8191;

export { UnsafePowerShellValueError } from '../errors/user-facing.ts';

const VAR_NAME = /^[A-Za-z][A-Za-z0-9]{0,40}$/;
/** PowerShell reads these as single quotes too (U+2018, U+2019, U+201A, U+201B). */
const QUOTES = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b']);

/** A single-quoted PowerShell literal: every quote character doubled; control characters refused. */
export function psString(value: string): string {
  let out = "'";
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (code < 32 || code === 127) throw new UnsafePowerShellValueError(`a value for PowerShell contains control character ${code}; refused`);
    out += QUOTES.has(ch) ? ch + ch : ch;
  }
  return `${out}'`;
}

export function psLiteral(value: PsValue): string {
  if (typeof value === 'string') return psString(value);
  if (typeof value === 'boolean') return value ? '$true' : '$false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new UnsafePowerShellValueError('a number for PowerShell is not finite');
    return String(value);
  }
  return `@(${value.map(psString).join(', ')})`;
}

export const PRELUDE = ["$ProgressPreference = 'SilentlyContinue'", "$ErrorActionPreference = 'Stop'", '$global:LASTEXITCODE = 0'];
export const EPILOGUE = 'exit $LASTEXITCODE';

/** The full script text: prelude, data, body, exit code. Lines end in CRLF, as PowerShell writes them. */
export function renderScript(script: PsScript): string {
  const lines = [...PRELUDE];
  for (const [name, value] of Object.entries(script.vars ?? {})) {
    if (!VAR_NAME.test(name)) throw new UnsafePowerShellValueError(`"${name}" is not a usable PowerShell variable name`);
    lines.push(`$${name} = ${psLiteral(value)}`);
  }
  lines.push(...script.body.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== ''));
  lines.push(EPILOGUE);
  return lines.join('\r\n');
}

/** `-EncodedCommand`'s argument: base64 of the UTF-16LE bytes. */
export function encodeCommand(text: string): string {
  return Buffer.from(text, 'utf16le').toString('base64');
}

export function decodeCommand(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf16le');
}

/** The argv sent to cmd.exe; refused when cmd.exe could not take it. */
export function powershellArgv(script: PsScript): string[] {
  const argv = [...POWERSHELL_ARGS, encodeCommand(renderScript(script))];
  const length = argv.join(' ').length;
  if (length > CMD_LINE_LIMIT) {
    throw new UnsafePowerShellValueError(`the PowerShell script "${script.name}" is ${length} characters encoded; cmd.exe takes at most ${CMD_LINE_LIMIT}`);
  }
  return argv;
}

/**
 * stderr without PowerShell's serialised streams: a `#< CLIXML` line and the `<Objs …>` XML
 * after it. Error records in it (`<S S="Error">…</S>`) are kept as text; progress is dropped.
 */
export function stripClixml(stderr: string): string {
  const text = stderr.replace(/^\uFEFF/, '');
  if (!text.startsWith('#< CLIXML')) return text;
  const nl = text.indexOf('\n');
  const rest = nl < 0 ? '' : text.slice(nl + 1);
  const end = rest.indexOf('</Objs>');
  const xml = end < 0 ? rest : rest.slice(0, end);
  const after = end < 0 ? '' : rest.slice(end + '</Objs>'.length);
  const errors: string[] = [];
  let from = 0;
  for (;;) {
    const open = xml.indexOf('<S S="Error">', from);
    if (open < 0) break;
    const close = xml.indexOf('</S>', open);
    if (close < 0) break;
    errors.push(unescapeClixml(xml.slice(open + '<S S="Error">'.length, close)));
    from = close + 4;
  }
  return (errors.join('') + after.replace(/^\r?\n/, '')).replace(/\r\n/g, '\n');
}

function unescapeClixml(s: string): string {
  return s
    .replaceAll('_x000D__x000A_', '\n')
    .replaceAll('_x000A_', '\n')
    .replaceAll('_x000D_', '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

export interface PsRunOptions {
  timeoutMs?: number;
  /** Values never shown (they are in the script, so the script is never shown either). */
  secrets?: readonly string[];
}

/** Runs the script and returns its output and exit code, whatever the code (callers decide). */
export async function runPowerShell(shell: RemoteShell, script: PsScript, options: PsRunOptions = {}): Promise<PsResult> {
  const argv = powershellArgv(script);
  const exec: ExecOptions = { okExitCodes: 'any', display: `powershell.exe -EncodedCommand <${script.name}>` };
  if (options.timeoutMs !== undefined) exec.timeoutMs = options.timeoutMs;
  if (options.secrets) exec.secrets = options.secrets;
  const r = await shell.exec(argv, exec);
  return { stdout: r.stdout.replace(/\r\n/g, '\n'), stderr: stripClixml(r.stderr), code: r.code, durationMs: r.durationMs };
}

/**
 * The last line of stdout that is a JSON object or array (what the script's final
 * `ConvertTo-Json -Compress` printed; scripts may print progress lines before it).
 */
export function lastJson(stdout: string, command: string): unknown {
  const lines = stdout.split('\n');
  let end = lines.length - 1;
  while (end >= 0 && (lines[end] ?? '').trim() === '') end--;
  // -Compress prints one line; an uncompressed ConvertTo-Json spans several: try the starts of both
  for (let i = end; i >= 0 && i >= end - 400; i--) {
    const line = (lines[i] ?? '').trim();
    if (!(line.startsWith('{') || line.startsWith('['))) continue;
    try {
      return JSON.parse(lines.slice(i, end + 1).join('\n')) as unknown;
    } catch {
      // not the start of the JSON value: keep looking upwards
    }
  }
  throw new OutputParseError(command, 'a JSON line (ConvertTo-Json -Compress) at the end', outputExcerpt(stdout.slice(-300)));
}

/** ConvertTo-Json prints one object for a one-element pipeline and an array for more: always an array. */
export function asArray(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
