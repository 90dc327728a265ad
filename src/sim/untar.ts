/** `tar -xzf FILE [-C DIR]`: unpacks a ustar (+gzip) archive, as root keeping the owner, group and mode of each member. */
import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fail, ok, type CommandContext, type CommandResult } from './context.ts';
import { strerror } from './fs.ts';

function field(block: Buffer, at: number, len: number): string {
  const raw = block.subarray(at, at + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? raw.length : nul).toString('utf8');
}

export function untar(ctx: CommandContext, file: string | undefined, dir: string | undefined): CommandResult {
  if (file === undefined || file === '-') return fail(2, 'mk8s-sim: tar from standard input is not simulated\n');
  const fs = ctx.node.fs;
  const raw = fs.readFile(file, ctx.root);
  if (typeof raw === 'string') return fail(2, `tar: ${file}: Cannot open: ${strerror(raw)}\ntar: Error is not recoverable: exiting now\n`);
  let data: Buffer;
  try {
    data = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  } catch {
    return fail(2, 'gzip: stdin: not in gzip format\ntar: Child returned status 1\ntar: Error is not recoverable: exiting now\n');
  }
  const base = fs.resolve(dir ?? fs.home);
  const baseEntry = fs.stat(base, ctx.root);
  if (typeof baseEntry === 'string' || baseEntry.kind !== 'dir') return fail(2, `tar: ${dir ?? base}: Cannot open: No such file or directory\ntar: Error is not recoverable: exiting now\n`);
  let stderr = '';
  for (let off = 0; off + 512 <= data.length; ) {
    const header = data.subarray(off, off + 512);
    const name = field(header, 0, 100);
    if (name === '') break;
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const mode = parseInt(field(header, 100, 8).trim() || '644', 8);
    const type = String.fromCharCode(header[156] ?? 48);
    const owner = field(header, 265, 32) || 'root';
    const group = field(header, 297, 32);
    const mtime = parseInt(field(header, 136, 12).trim() || '0', 8) * 1000;
    const body = data.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    const path = posix.join(base, name);
    if (type === '5') {
      if (!fs.entry(path)) fs.dirs.set(path.replace(/\/$/, ''), { owner: ctx.root ? owner : ctx.user, mode });
      continue;
    }
    const err = fs.writeFile(path, Buffer.from(body), ctx.root, mtime);
    if (err) {
      stderr += `tar: ${name}: Cannot open: ${strerror(err)}\n`;
      continue;
    }
    const f = fs.files.get(fs.resolve(path));
    if (f && ctx.root) {
      f.owner = owner;
      if (group) f.group = group;
      f.mode = mode;
    }
  }
  if (stderr) return fail(2, `${stderr}tar: Exiting with failure status due to previous errors\n`);
  return ok();
}
