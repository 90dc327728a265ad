/** The few coreutils a runbook uses on a node: tar, sha256sum, stat, rm, mkdir, test, cat, date, hostname. */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fail, ok, type CommandContext, type CommandResult } from './context.ts';
import { strerror } from './fs.ts';
import { untar } from './untar.ts';

export function sha256sum(ctx: CommandContext, args: string[]): CommandResult {
  const files = args.filter((a) => !a.startsWith('-') || a === '-');
  if (files.length === 0) return fail(1, 'sha256sum: reading standard input is not supported by the simulator\n');
  let stdout = '';
  let stderr = '';
  for (const f of files) {
    const data = ctx.node.fs.readFile(f, ctx.root);
    if (typeof data === 'string') stderr += `sha256sum: ${f}: ${strerror(data)}\n`;
    else stdout += `${createHash('sha256').update(data).digest('hex')}  ${f}\n`;
  }
  return { stdout, stderr, code: stderr ? 1 : 0 };
}

export function stat(ctx: CommandContext, args: string[]): CommandResult {
  let format: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-c' || a === '--format') format = args[++i];
    else if (a.startsWith('--format=')) format = a.slice('--format='.length);
    else if (a.startsWith('-c') && a.length > 2) format = a.slice(2);
    else if (a === '-L' || a === '--dereference') continue;
    else files.push(a);
  }
  if (files.length === 0) return fail(1, "stat: missing operand\nTry 'stat --help' for more information.\n");
  if (format === undefined) return fail(1, 'mk8s-sim: stat without -c is not simulated\n');
  let stdout = '';
  let stderr = '';
  for (const f of files) {
    const e = ctx.node.fs.stat(f, ctx.root);
    if (typeof e === 'string') {
      stderr += `stat: cannot stat '${f}': ${strerror(e)}\n`;
      continue;
    }
    stdout += `${format.replace(/%([%snUaY])/g, (_, c: string) => {
      switch (c) {
        case 's':
          return String(e.size);
        case 'n':
          return f;
        case 'U':
          return e.owner;
        case 'a':
          return (e.mode & 0o7777).toString(8);
        case 'Y':
          return String(Math.floor(e.mtimeMs / 1000));
        default:
          return '%';
      }
    })}\n`;
  }
  return { stdout, stderr, code: stderr ? 1 : 0 };
}

export function rm(ctx: CommandContext, args: string[]): CommandResult {
  let force = false;
  const files: string[] = [];
  for (const a of args) {
    if (/^-[frv]+$/.test(a)) {
      if (a.includes('f')) force = true;
    } else if (a === '--force') force = true;
    else files.push(a);
  }
  if (files.length === 0) return force ? ok() : fail(1, "rm: missing operand\nTry 'rm --help' for more information.\n");
  let stderr = '';
  for (const f of files) {
    const e = ctx.node.fs.remove(f, ctx.root);
    if (e === undefined || (e === 'ENOENT' && force)) continue;
    stderr += e === 'EISDIR' ? `rm: cannot remove '${f}': Is a directory\n` : `rm: cannot remove '${f}': ${strerror(e)}\n`;
  }
  return { stdout: '', stderr, code: stderr ? 1 : 0 };
}

export function mkdir(ctx: CommandContext, args: string[]): CommandResult {
  const parents = args.some((a) => /^-[pv]*p[pv]*$/.test(a) || a === '--parents');
  const dirs = args.filter((a) => !a.startsWith('-'));
  if (dirs.length === 0) return fail(1, "mkdir: missing operand\nTry 'mkdir --help' for more information.\n");
  let stderr = '';
  for (const d of dirs) {
    const fs = ctx.node.fs;
    if (!parents) {
      const existing = fs.entry(d);
      if (existing) {
        stderr += `mkdir: cannot create directory ‘${d}’: File exists\n`;
        continue;
      }
      if (!fs.entry(posix.dirname(fs.resolve(d)))) {
        stderr += `mkdir: cannot create directory ‘${d}’: No such file or directory\n`;
        continue;
      }
    }
    const e = fs.mkdirp(d, ctx.root);
    if (e) stderr += `mkdir: cannot create directory ‘${e.at}’: ${e.error === 'ENOTDIR' ? 'Not a directory' : strerror(e.error)}\n`;
  }
  return { stdout: '', stderr, code: stderr ? 1 : 0 };
}

export function test(ctx: CommandContext, args: string[]): CommandResult {
  const a = args[args.length - 1] === ']' ? args.slice(0, -1) : args;
  if (a.length === 2) {
    const op = a[0] ?? '';
    const path = a[1] ?? '';
    const e = ctx.node.fs.stat(path, ctx.root);
    const found = typeof e !== 'string';
    const pass = op === '-f' ? found && e.kind === 'file' : op === '-d' ? found && e.kind === 'dir' : op === '-e' ? found : op === '-s' ? found && e.size > 0 : undefined;
    if (pass === undefined) return fail(2, `bash: test: ${op}: unary operator expected\n`);
    return { stdout: '', stderr: '', code: pass ? 0 : 1 };
  }
  if (a.length === 1) return { stdout: '', stderr: '', code: a[0] === '' ? 1 : 0 };
  return fail(2, 'mk8s-sim: this form of test is not simulated\n');
}

export function cat(ctx: CommandContext, args: string[]): CommandResult {
  let stdout = '';
  let stderr = '';
  for (const f of args) {
    const data = ctx.node.fs.readFile(f, ctx.root);
    if (typeof data === 'string') stderr += `cat: ${f}: ${strerror(data)}\n`;
    else stdout += data.toString('utf8');
  }
  return { stdout, stderr, code: stderr ? 1 : 0 };
}

function pad2(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

export function date(ctx: CommandContext, args: string[]): CommandResult {
  const secs = ctx.node.clockSeconds();
  const fmt = args.find((a) => a.startsWith('+'));
  const d = new Date(secs * 1000);
  if (!fmt) return ok(`${d.toUTCString().replace(/GMT$/, 'UTC').replace(/^(\w+), (\d+) (\w+) (\d+) /, '$1 $3 $2 $4 ')}\n`);
  const out = fmt.slice(1).replace(/%([sYmdHMSzZFT%])/g, (_, c: string) => {
    switch (c) {
      case 's':
        return String(secs);
      case 'Y':
        return String(d.getUTCFullYear());
      case 'm':
        return pad2(d.getUTCMonth() + 1);
      case 'd':
        return pad2(d.getUTCDate());
      case 'H':
        return pad2(d.getUTCHours());
      case 'M':
        return pad2(d.getUTCMinutes());
      case 'S':
        return pad2(d.getUTCSeconds());
      case 'z':
        return '+0000';
      case 'Z':
        return 'UTC';
      case 'F':
        return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
      case 'T':
        return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
      default:
        return '%';
    }
  });
  return ok(`${out}\n`);
}

// ------------------------------------------------------------------ tar

/** One ustar header + content, padded to 512 bytes. */
function tarEntry(name: string, data: Buffer | undefined, mode: number, mtimeSec: number): Buffer {
  const header = Buffer.alloc(512);
  const isDir = data === undefined;
  header.write(name.slice(0, 100), 0, 'utf8');
  header.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'ascii');
  header.write('0000000\0', 108, 'ascii');
  header.write('0000000\0', 116, 'ascii');
  header.write(`${(data?.length ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.write(`${mtimeSec.toString(8).padStart(11, '0')}\0`, 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write(isDir ? '5' : '0', 156, 'ascii');
  header.write('ustar  \0', 257, 'ascii');
  header.write('root', 265, 'ascii');
  header.write('microk8s', 297, 'ascii');
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  if (!data) return header;
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([header, data, Buffer.alloc(pad)]);
}

export function tar(ctx: CommandContext, args: string[]): CommandResult {
  let create = false;
  let extract = false;
  let gzip = false;
  let file: string | undefined;
  let dir: string | undefined;
  const members: string[] = [];
  const takeShort = (cluster: string, i: number): number => {
    for (let j = 0; j < cluster.length; j++) {
      const c = cluster[j] ?? '';
      if (c === 'c') create = true;
      else if (c === 'z') gzip = true;
      else if (c === 'v' || c === 'p') continue;
      else if (c === 'f' || c === 'C') {
        const rest = cluster.slice(j + 1);
        const value = rest !== '' ? rest : args[i + 1];
        if (c === 'f') file = value;
        else dir = value;
        return rest !== '' ? i : i + 1;
      } else if (c === 'x') extract = true;
      else if (c === 't') return -2;
      else return -1;
    }
    return i;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--create') create = true;
    else if (a === '--gzip') gzip = true;
    else if (a.startsWith('--file=')) file = a.slice(7);
    else if (a.startsWith('--directory=')) dir = a.slice(12);
    else if (a === '--file' || a === '--directory') {
      if (a === '--file') file = args[i + 1];
      else dir = args[i + 1];
      i++;
    } else if (a.startsWith('-') && a.length > 1) {
      const r = takeShort(a.slice(1), i);
      if (r === -2) return fail(2, 'mk8s-sim: only `tar -c` and `tar -x` are simulated\n');
      if (r < 0) return fail(2, `tar: invalid option -- '${a.slice(1)}'\nTry 'tar --help' or 'tar --usage' for more information.\n`);
      i = r;
    } else if (i === 0 && /^[cxzvfC]+$/.test(a)) {
      const r = takeShort(a, i);
      if (r < 0) return fail(2, `tar: invalid option -- '${a}'\n`);
      i = r;
    } else members.push(a);
  }
  if (extract && !create) return untar(ctx, file, dir);
  if (!create) return fail(2, "tar: You must specify one of the '-Acdtrux', '--delete' or '--test-label' options\nTry 'tar --help' or 'tar --usage' for more information.\n");
  if (file === undefined || file === '-') return fail(2, 'mk8s-sim: tar to standard output is not simulated\n');
  if (members.length === 0) return fail(2, "tar: Cowardly refusing to create an empty archive\nTry 'tar --help' or 'tar --usage' for more information.\n");
  const fs = ctx.node.fs;
  const base = dir ?? fs.home;
  const baseEntry = fs.stat(base, ctx.root);
  if (typeof baseEntry === 'string') return fail(2, `tar: ${base}: Cannot open: ${strerror(baseEntry)}\ntar: Error is not recoverable: exiting now\n`);
  const parts: Buffer[] = [];
  let stderr = '';
  for (const m of members) {
    const abs = fs.resolve(posix.join(fs.resolve(base), m));
    const e = fs.stat(abs, ctx.root);
    if (typeof e === 'string') {
      stderr += `tar: ${m}: Cannot ${e === 'EACCES' ? 'open' : 'stat'}: ${strerror(e)}\n`;
      continue;
    }
    if (e.kind === 'file') {
      const data = fs.readFile(abs, ctx.root);
      if (typeof data === 'string') stderr += `tar: ${m}: Cannot open: ${strerror(data)}\n`;
      else parts.push(tarEntry(m, data, e.mode, Math.floor(e.mtimeMs / 1000)));
      continue;
    }
    if (!ctx.root && (fs.perms(e) & 5) !== 5) {
      stderr += `tar: ${m}: Cannot open: Permission denied\n`;
      continue;
    }
    parts.push(tarEntry(`${m.replace(/\/$/, '')}/`, undefined, e.mode, Math.floor(e.mtimeMs / 1000)));
    const prefix = `${abs}/`;
    const children = collectFiles(ctx, abs).filter((p) => p.startsWith(prefix)).toSorted();
    for (const child of children) {
      const data = fs.readFile(child, ctx.root);
      const ce = fs.entry(child);
      if (typeof data === 'string' || !ce) {
        stderr += `tar: ${m}/${child.slice(prefix.length)}: Cannot open: Permission denied\n`;
        continue;
      }
      parts.push(tarEntry(`${m.replace(/\/$/, '')}/${child.slice(prefix.length)}`, data, ce.mode, Math.floor(ce.mtimeMs / 1000)));
    }
  }
  const archive = Buffer.concat([...parts, Buffer.alloc(1024)]);
  const padded = Buffer.concat([archive, Buffer.alloc((10240 - (archive.length % 10240)) % 10240)]);
  const out = gzip ? gzipSync(padded, { level: 6 }) : padded;
  const err = fs.writeFile(file, out, ctx.root, ctx.state.now());
  if (err) {
    return fail(2, `tar (child): ${file}: Cannot open: ${strerror(err)}\ntar (child): Error is not recoverable: exiting now\ntar: Child returned status 2\ntar: Error is not recoverable: exiting now\n`);
  }
  if (stderr) return fail(2, `${stderr}tar: Exiting with failure status due to previous errors\n`);
  return ok();
}

function collectFiles(ctx: CommandContext, dir: string): string[] {
  const fs = ctx.node.fs;
  const out: string[] = [];
  for (const p of fs.files.keys()) if (p.startsWith(`${dir}/`)) out.push(p);
  for (const p of ctx.state.backendFiles(ctx.node).keys()) if (p.startsWith(`${dir}/`)) out.push(p);
  return out;
}
