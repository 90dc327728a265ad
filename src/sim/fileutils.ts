/**
 * `cp` and `mv` on a simulated node, with GNU coreutils' messages: what a runbook uses to back a
 * configuration file up (`cp -p f f.mk8s-<time>`) and to put an uploaded file in place
 * (`cp upload f.next`, `mv -f f.next f`). Only regular files; no recursion.
 */
import { posix } from 'node:path';
import { fail, ok, type CommandContext, type CommandResult } from './context.ts';
import { strerror, type FsError, type SimFile } from './fs.ts';

interface Operands {
  flags: Set<string>;
  files: string[];
  bad?: string;
}

/** Short flags (`-p`, `-fp`), the long ones given, and `--` ending the options. */
function operands(args: string[], short: string, long: Record<string, string>): Operands {
  const flags = new Set<string>();
  const files: string[] = [];
  let options = true;
  for (const a of args) {
    if (options && a === '--') options = false;
    else if (options && a.startsWith('--')) {
      const f = long[a];
      if (f === undefined) return { flags, files, bad: `unrecognized option '${a}'` };
      flags.add(f);
    } else if (options && a.startsWith('-') && a.length > 1) {
      for (const c of a.slice(1)) {
        if (!short.includes(c)) return { flags, files, bad: `invalid option -- '${c}'` };
        flags.add(c);
      }
    } else files.push(a);
  }
  return { flags, files };
}

/** `cmd [options] SRC DST`: the flags given and the two operands, or GNU's usage error. */
function sourceAndDest(cmd: 'cp' | 'mv', args: string[], short: string, long: Record<string, string>): { flags: Set<string>; src: string; dst: string } | CommandResult {
  const o = operands(args, short, long);
  const help = `Try '${cmd} --help' for more information.\n`;
  if (o.bad) return fail(1, `${cmd}: ${o.bad}\n${help}`);
  const [src, dst, ...extra] = o.files;
  if (src === undefined) return fail(1, `${cmd}: missing file operand\n${help}`);
  if (dst === undefined) return fail(1, `${cmd}: missing destination file operand after '${src}'\n${help}`);
  if (extra.length > 0) return fail(1, `mk8s-sim: ${cmd} with several sources is not simulated\n`);
  return { flags: o.flags, src, dst };
}

/** Where `src` lands when copied or moved to `dst` (into it when it is a directory). */
function target(ctx: CommandContext, src: string, dst: string): string {
  const e = ctx.node.fs.stat(dst, ctx.root);
  return typeof e !== 'string' && e.kind === 'dir' ? posix.join(dst, posix.basename(src)) : dst;
}

/** Parent directory writable by the caller (root always). */
function dirWritable(ctx: CommandContext, path: string): FsError | undefined {
  const fs = ctx.node.fs;
  const dir = fs.stat(posix.dirname(fs.resolve(path)), ctx.root);
  if (typeof dir === 'string') return dir;
  if (dir.kind !== 'dir') return 'ENOTDIR';
  if (ctx.root || dir.owner === ctx.user || (dir.mode & 0o002) !== 0) return undefined;
  return 'EACCES';
}

/** `cp [-p] [-f] SRC DST` */
export function cp(ctx: CommandContext, args: string[]): CommandResult {
  const o = sourceAndDest('cp', args, 'pf', { '--preserve': 'p', '--force': 'f' });
  if ('code' in o) return o;
  const { src, dst } = o;
  const fs = ctx.node.fs;
  const srcEntry = fs.stat(src, ctx.root);
  if (typeof srcEntry === 'string') return fail(1, `cp: cannot stat '${src}': ${strerror(srcEntry)}\n`);
  if (srcEntry.kind === 'dir') return fail(1, `cp: -r not specified; omitting directory '${src}'\n`);
  const data = fs.readFile(src, ctx.root);
  if (typeof data === 'string') return fail(1, `cp: cannot open '${src}' for reading: ${strerror(data)}\n`);
  const to = target(ctx, src, dst);
  if (fs.resolve(to) === fs.resolve(src)) return fail(1, `cp: '${src}' and '${to}' are the same file\n`);
  const existing = fs.stat(to, ctx.root);
  const now = ctx.state.now();
  if (typeof existing === 'string' && existing !== 'ENOENT') return fail(1, `cp: cannot create regular file '${to}': ${strerror(existing)}\n`);
  if (typeof existing === 'string') {
    const denied = dirWritable(ctx, to);
    if (denied) return fail(1, `cp: cannot create regular file '${to}': ${strerror(denied)}\n`);
  } else if (!ctx.root && existing.owner !== ctx.user && (existing.mode & 0o002) === 0) {
    return fail(1, `cp: cannot create regular file '${to}': Permission denied\n`);
  }
  const written = fs.writeFile(to, Buffer.from(data), ctx.root, now);
  if (written) return fail(1, `cp: cannot create regular file '${to}': ${strerror(written)}\n`);
  const file = fs.files.get(fs.resolve(to));
  if (file) {
    if (o.flags.has('p')) {
      // ownership is kept only by root; mode and times always
      if (ctx.root) {
        file.owner = srcEntry.owner;
        if (srcEntry.group !== undefined) file.group = srcEntry.group;
        else delete file.group;
      }
      file.mode = srcEntry.mode;
      file.mtimeMs = srcEntry.mtimeMs;
    } else if (typeof existing === 'string') {
      // a new file gets the source's mode under the usual umask 022
      file.mode = srcEntry.mode & ~0o022;
    }
  }
  return ok();
}

/** `mv [-f] SRC DST`: a rename, metadata and all. */
export function mv(ctx: CommandContext, args: string[]): CommandResult {
  const o = sourceAndDest('mv', args, 'f', { '--force': 'f' });
  if ('code' in o) return o;
  const { src, dst } = o;
  const fs = ctx.node.fs;
  const srcEntry = fs.stat(src, ctx.root);
  if (typeof srcEntry === 'string') return fail(1, `mv: cannot stat '${src}': ${strerror(srcEntry)}\n`);
  const from = fs.resolve(src);
  const stored: SimFile | undefined = fs.files.get(from);
  if (!stored) return fail(1, `mv: cannot move '${src}': ${srcEntry.kind === 'dir' ? 'the simulator moves files only' : 'Operation not permitted'}\n`);
  const to = target(ctx, src, dst);
  const deniedFrom = dirWritable(ctx, src);
  const deniedTo = dirWritable(ctx, to);
  if (deniedFrom || deniedTo) return fail(1, `mv: cannot move '${src}' to '${to}': ${strerror(deniedFrom ?? deniedTo ?? 'EACCES')}\n`);
  const existing = fs.stat(to, ctx.root);
  if (typeof existing !== 'string' && existing.kind === 'dir') return fail(1, `mv: cannot overwrite directory '${to}' with non-directory\n`);
  if (fs.resolve(to) === from) return fail(1, `mv: '${src}' and '${to}' are the same file\n`);
  fs.files.delete(from);
  fs.files.set(fs.resolve(to), stored);
  return ok();
}

/** `chmod MODE FILE…` with an octal mode. */
export function chmod(ctx: CommandContext, args: string[]): CommandResult {
  const [mode, ...files] = args;
  if (mode === undefined || files.length === 0) return fail(1, `chmod: missing operand${mode === undefined ? '' : ` after '${mode}'`}\nTry 'chmod --help' for more information.\n`);
  if (!/^[0-7]{1,4}$/.test(mode)) return fail(1, `mk8s-sim: chmod ${mode}: only octal modes are simulated\n`);
  const fs = ctx.node.fs;
  let stderr = '';
  for (const f of files) {
    const e = fs.stat(f, ctx.root);
    if (typeof e === 'string') {
      stderr += `chmod: cannot access '${f}': ${strerror(e)}\n`;
      continue;
    }
    const file = fs.files.get(fs.resolve(f));
    const dir = fs.dirs.get(fs.resolve(f));
    if (!ctx.root && e.owner !== ctx.user) stderr += `chmod: changing permissions of '${f}': Operation not permitted\n`;
    else if (file) file.mode = parseInt(mode, 8);
    else if (dir) dir.mode = parseInt(mode, 8);
    else stderr += `chmod: changing permissions of '${f}': Operation not permitted\n`;
  }
  return { stdout: '', stderr, code: stderr ? 1 : 0 };
}

/**
 * `install [-m MODE] [-o OWNER] SRC DEST`: a copy of SRC (`/dev/null`: an empty file) with
 * that mode and owner from the start — how a private file is made before a root process
 * writes into it. Only root may give a file to another user (chown's rule).
 */
export function install(ctx: CommandContext, args: string[]): CommandResult {
  let mode = 0o755;
  let owner: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-m' || a === '-o') {
      const v = args[++i];
      if (v === undefined) return fail(1, `install: option requires an argument -- '${a.slice(1)}'\nTry 'install --help' for more information.\n`);
      if (a === '-m') {
        if (!/^[0-7]{1,4}$/.test(v)) return fail(1, `install: invalid mode '${v}'\n`);
        mode = parseInt(v, 8);
      } else owner = v;
    } else if (a.startsWith('-')) return fail(1, `mk8s-sim: install ${a}: only -m and -o are simulated\n`);
    else files.push(a);
  }
  const [src, dst, ...more] = files;
  if (src === undefined || dst === undefined || more.length > 0) return fail(1, `install: missing destination file operand\nTry 'install --help' for more information.\n`);
  if (owner !== undefined && owner !== 'root' && owner !== ctx.user) return fail(1, `install: invalid user '${owner}'\n`);
  const fs = ctx.node.fs;
  const data = src === '/dev/null' ? Buffer.alloc(0) : fs.readFile(src, ctx.root);
  if (typeof data === 'string') return fail(1, `install: cannot stat '${src}': ${strerror(data)}\n`);
  const to = fs.resolve(dst);
  const written = fs.writeFile(to, Buffer.from(data), ctx.root, ctx.state.now());
  if (written) return fail(1, `install: cannot create regular file '${dst}': ${strerror(written)}\n`);
  const file = fs.files.get(to);
  if (!file) return fail(1, `install: cannot create regular file '${dst}': Permission denied\n`);
  const newOwner = owner ?? (ctx.root ? 'root' : ctx.user);
  if (!ctx.root && newOwner !== ctx.user) return fail(1, `install: cannot change ownership of '${dst}': Operation not permitted\n`);
  file.owner = newOwner;
  delete file.group;
  file.mode = mode;
  return ok();
}
