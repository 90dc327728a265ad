/**
 * The exec side of a simulated Windows node. Windows OpenSSH hands the command to its default
 * shell, cmd.exe (`cmd.exe /c <command>`): a program cmd.exe does not know fails with its
 * "is not recognized" text (a `sudo -n -- …` or a POSIX-quoted word included); `powershell.exe`
 * runs the `-EncodedCommand` script (base64 of UTF-16LE), recognised from its decoded text.
 */
import type { CommandResult, SimLatency } from '../context.ts';
import type { ExecOutcome, SimCommandRecord } from '../runner.ts';
import type { SimNode } from '../node.ts';
import type { SimState } from '../state.ts';
import { parseScript } from './ps-parse.ts';
import { dispatchScript, type WinOutcome } from './scripts.ts';

const CMD_LIMIT = 8191;
const OBJS_OPEN = '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">';
const PROGRESS_OBJ =
  '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>';

/** Progress records first, in the one CLIXML block PowerShell writes to stderr. */
function withProgress(stderr: string): string {
  if (stderr.startsWith(OBJS_OPEN)) return OBJS_OPEN + PROGRESS_OBJ + stderr.slice(OBJS_OPEN.length);
  return `${OBJS_OPEN}${PROGRESS_OBJ}</Objs>${stderr}`;
}

function notRecognized(word: string): CommandResult {
  return { stdout: '', stderr: `'${word}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`, code: 1 };
}

/** cmd.exe splits on spaces and double quotes; single quotes are ordinary characters. */
export function cmdWords(command: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (const ch of command) {
    if (ch === '"') {
      quoted = !quoted;
      any = true;
      continue;
    }
    if ((ch === ' ' || ch === '\t') && !quoted) {
      if (any) words.push(cur);
      cur = '';
      any = false;
      continue;
    }
    cur += ch;
    any = true;
  }
  if (any) words.push(cur);
  return words;
}

export interface WindowsRunnerHooks {
  /** Reboots the node: its SSH server drops connections and refuses them until it is back. */
  reboot(node: SimNode): void;
}

export class WindowsRunner {
  readonly log: SimCommandRecord[];
  simulatedMs = 0;

  constructor(
    private readonly state: SimState,
    log: SimCommandRecord[],
    private readonly latency: SimLatency,
    private readonly hooks: WindowsRunnerHooks,
  ) {
    this.log = log;
  }

  async run(node: SimNode, command: string, _signal: AbortSignal): Promise<ExecOutcome> {
    const startedAt = Date.now();
    const words = cmdWords(command);
    const record: SimCommandRecord = { node: node.name, command, argv: words, sudo: false, code: null, startedAt, durationMs: 0 };
    let outcome: ExecOutcome;
    // each PowerShell process: a fixed cost (startup, the script), no jitter
    if (this.latency.defaultMs > 0) await new Promise((r) => setTimeout(r, this.latency.defaultMs));
    if (command.length > CMD_LIMIT) outcome = { kind: 'result', result: { stdout: '', stderr: 'The command line is too long.\r\n', code: 1 } };
    else outcome = this.dispatch(node, words, record);
    record.code = outcome.kind === 'result' ? outcome.result.code : null;
    record.durationMs = Date.now() - startedAt;
    this.simulatedMs += record.durationMs;
    this.log.push(record);
    return outcome;
  }

  private dispatch(node: SimNode, words: string[], record: SimCommandRecord): ExecOutcome {
    const program = (words[0] ?? '').toLowerCase();
    if (program === '') return { kind: 'result', result: { stdout: '', stderr: '', code: 0 } };
    if (program === 'hostname') return { kind: 'result', result: { stdout: `${node.name.toUpperCase()}\r\n`, stderr: '', code: 0 } };
    if (program === 'ipconfig' || program === 'ipconfig.exe') return { kind: 'result', result: { stdout: this.ipconfig(node), stderr: '', code: 0 } };
    if (program !== 'powershell.exe' && program !== 'powershell') return { kind: 'result', result: notRecognized(words[0] ?? '') };
    const args = words.slice(1);
    const lower = args.map((a) => a.toLowerCase());
    const at = lower.findIndex((a) => a === '-encodedcommand' || a === '-enc' || a === '-e');
    const b64 = at >= 0 ? args[at + 1] : undefined;
    if (b64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      return { kind: 'result', result: { stdout: '', stderr: 'Cannot process the command because the value specified with -EncodedCommand is not properly encoded. The value must be Base64 encoded.\r\n', code: 1 } };
    }
    const text = Buffer.from(b64, 'base64').toString('utf16le');
    record.decoded = text;
    const script = parseScript(text);
    record.script = script.lines.find((l) => !l.startsWith('$') && l.trim() !== '')?.slice(0, 80);
    const win = node.windows;
    if (!win) return { kind: 'result', result: notRecognized(words[0] ?? '') };
    const out: WinOutcome = dispatchScript(
      { state: this.state, node, win, now: () => this.state.now(), reboot: () => this.hooks.reboot(node) },
      script,
    );
    if (out.kind === 'drop') return { kind: 'drop' };
    let stderr = out.result.stderr;
    // without -NoProfile, or progress left on, PowerShell serialises progress records to stderr
    const progressOn = !script.lines.includes("$ProgressPreference = 'SilentlyContinue'");
    if (!lower.includes('-noprofile') || (progressOn && text.includes('Invoke-WebRequest'))) stderr = withProgress(stderr);
    return { kind: 'result', result: { ...out.result, stderr } };
  }

  private ipconfig(node: SimNode): string {
    const name = node.windows?.adapterName ?? 'Ethernet';
    return [
      '',
      'Windows IP Configuration',
      '',
      '',
      `Ethernet adapter ${name}:`,
      '',
      '   Connection-specific DNS Suffix  . : sim.internal',
      '   Link-local IPv6 Address . . . . . : fe80::d17b:a2e:c02c:1163%8',
      `   IPv4 Address. . . . . . . . . . . : ${node.ip}`,
      '   Subnet Mask . . . . . . . . . . . : 255.255.255.0',
      '   Default Gateway . . . . . . . . . : 10.0.0.1',
      '',
    ].join('\r\n');
  }
}
