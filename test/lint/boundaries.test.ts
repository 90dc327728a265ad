/**
 * The import boundaries of .oxlintrc.json (`overrides`): jobs/ never import bullmq, src/ssh or
 * src/chat; src/ops never imports src/chat, src/commands, src/bot, src/queue or src/ssh (it sits
 * below them and reaches nodes through src/microk8s); src/watch and src/status never import src/bot (they
 * sit below it: the cluster-status read both use is src/status). Each case lints a probe file, placed at the same
 * relative path as the real folder, with the project's own config copied next to it, and checks
 * that the forbidden import is reported (and that the allowed ones are not).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const oxlint = join(root, 'node_modules/.bin/oxlint');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mk8s-lint-'));
  await copyFile(join(root, '.oxlintrc.json'), join(dir, '.oxlintrc.json'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Lints one probe file at `path` (relative to the repo root) holding `source`; returns the restricted-import reports. */
async function lint(path: string, source: string): Promise<string[]> {
  const file = join(dir, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, source);
  let out: string;
  try {
    out = (await run(oxlint, ['-c', join(dir, '.oxlintrc.json'), '--format', 'unix', file], { cwd: dir })).stdout;
  } catch (err) {
    out = (err as { stdout?: string }).stdout ?? '';
  } finally {
    await rm(file, { force: true });
  }
  return out.split('\n').filter((l) => l.includes('no-restricted-imports'));
}

describe('import boundaries', () => {
  it.each([
    ['jobs/probe.ts', 'bullmq', "import { Queue } from 'bullmq';\nexport const q = Queue;\n"],
    ['jobs/probe.ts', '../src/ssh/pool.ts', "import { SshPool } from '../src/ssh/pool.ts';\nexport const p = SshPool;\n"],
    ['jobs/probe.ts', '../src/chat/port.ts', "import type { ChatPort } from '../src/chat/port.ts';\nexport type P = ChatPort;\n"],
    ['src/ops/probe.ts', '../chat/port.ts', "import type { Button } from '../chat/port.ts';\nexport type B = Button;\n"],
    ['src/ops/probe.ts', '../commands/validators.ts', "import { NodeName } from '../commands/validators.ts';\nexport const n = NodeName;\n"],
    ['src/ops/probe.ts', '../bot/deps.ts', "import type { BotDeps } from '../bot/deps.ts';\nexport type D = BotDeps;\n"],
    ['src/ops/probe.ts', '../queue/keys.ts', "import { keys } from '../queue/keys.ts';\nexport const k = keys;\n"],
    ['src/ops/probe.ts', '../ssh/errors.ts', "import { ConnectionLostError } from '../ssh/errors.ts';\nexport const e = ConnectionLostError;\n"],
    ['src/watch/probe.ts', '../bot/status-report.ts', "import { renderClusterStatus } from '../bot/status-report.ts';\nexport const r = renderClusterStatus;\n"],
    ['src/status/probe.ts', '../bot/deps.ts', "import type { BotDeps } from '../bot/deps.ts';\nexport type D = BotDeps;\n"],
  ])('%s may not import %s', async (path, specifier, source) => {
    const reports = await lint(path, source);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain(specifier);
  });

  it('lets jobs/ import the engine, src/ops and src/microk8s, and src/ops import the engine, the inventory, the stores, the errors and src/microk8s', async () => {
    const job = [
      "import { defineRunbook } from '../src/engine/define.ts';",
      "import { pickControlPlane } from '../src/ops/controller.ts';",
      "import type { KubeNode } from '../src/microk8s/types.ts';",
      'export const x = [defineRunbook, pickControlPlane];',
      'export type K = KubeNode;',
      '',
    ].join('\n');
    expect(await lint('jobs/probe.ts', job)).toEqual([]);
    const helper = [
      "import type { RunContext } from '../engine/context.ts';",
      "import { nodeInCluster } from '../config/inventory.ts';",
      "import { readNodeRecord } from '../store/node-records.ts';",
      "import { ConnectionLostError } from '../errors/user-facing.ts';",
      "import { readSnapFacts } from '../microk8s/snap-facts.ts';",
      'export const x = [nodeInCluster, readNodeRecord, ConnectionLostError, readSnapFacts];',
      'export type R = RunContext;',
      '',
    ].join('\n');
    expect(await lint('src/ops/probe.ts', helper)).toEqual([]);
  });

  it('lets src/watch and src/bot import the cluster-status read of src/status', async () => {
    const read = "import { readClusterStatus, type ClusterStatus } from '../status/cluster-status.ts';\nexport const r = readClusterStatus;\nexport type S = ClusterStatus;\n";
    expect(await lint('src/watch/probe.ts', read)).toEqual([]);
    expect(await lint('src/bot/probe.ts', read)).toEqual([]);
  });

  it('leaves other folders alone (src/bot may import src/chat)', async () => {
    expect(await lint('src/bot/probe.ts', "import type { ChatPort } from '../chat/port.ts';\nexport type P = ChatPort;\n")).toEqual([]);
  });
});
