/**
 * MicroK8sNode over real SSH against the scripted test server: the exact argv each op sends
 * (and with sudo or not), how it reads the answers, and that invalid values run nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidValueError, NotReadyError, OutputParseError, WorkerNodeError } from '../../src/microk8s/errors.ts';
import { MicroK8sNode, backupStamp } from '../../src/microk8s/node.ts';
import { SshConnection } from '../../src/ssh/connection.ts';
import { CommandFailedError, CommandTimeoutError } from '../../src/ssh/errors.ts';
import { rejectionOf } from '../support/catch-error.ts';
import { startTestServer, targetFor, type Reply, type TestServer } from '../support/ssh-test-server.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const BACKUP = Buffer.from('pretend this is a gzipped tarball of backend/\n'.repeat(1000));
const SHA = createHash('sha256').update(BACKUP).digest('hex');

/** Scripted answers, keyed by the command line without `sudo -n --`. */
let answers: Map<string, Reply>;
/** Commands that need root, as on a real node. */
const needsRoot = (cmd: string) => /^(microk8s|snap (refresh|revert)|install|tar|sha256sum|stat) /.test(cmd) || cmd === 'microk8s version';

function handler(argv: string[]): Reply {
  const sudo = argv[0] === 'sudo';
  const words = sudo ? argv.slice(3) : argv;
  const cmd = words.join(' ');
  if (!sudo && needsRoot(cmd)) return { stderr: 'Insufficient permissions to access MicroK8s.\n', code: 1 };
  if (cmd.startsWith('tar -czf /var/snap/microk8s/common/mk8s-backup-')) {
    server.files.set(words[2] ?? '', BACKUP);
    return {};
  }
  if (cmd.startsWith('install -m 0600 -o ubuntu /dev/null /var/snap/microk8s/common/mk8s-backup-')) return {};
  if (cmd.startsWith('sha256sum ')) return { stdout: `${SHA}  ${words[1] ?? ''}\n` };
  if (cmd.startsWith('stat -c %s ')) return { stdout: `${BACKUP.length}\n` };
  return answers.get(cmd) ?? { stderr: `unexpected command: ${cmd}\n`, code: 99 };
}

let server: TestServer;
let shell: SshConnection;
let node: MicroK8sNode;
const commands = () => server.execs.map((e) => e.argv.join(' '));

beforeAll(async () => {
  server = await startTestServer({ handler });
  shell = new SshConnection(targetFor(server));
  node = new MicroK8sNode(shell, { now: () => new Date('2026-07-01T10:20:30.456Z') });
});
beforeEach(() => {
  answers = new Map();
  server.execs.length = 0;
});
afterAll(async () => {
  shell.close();
  await server.close();
});

describe('MicroK8sNode snap operations', () => {
  it('reads snap list and snap info without sudo', async () => {
    answers.set('snap list microk8s', { stdout: fixture('snap-list-ssh-held.txt') });
    answers.set('snap info microk8s', { stdout: fixture('snap-info-ssh.txt') });
    expect(await node.snap()).toMatchObject({ version: 'v1.22.3', tracking: '1.22/stable', notes: ['classic', 'held'] });
    expect((await node.snapInfo()).channels['1.23/stable']?.revision).toBe('4916');
    expect(commands()).toEqual(['snap list microk8s', 'snap info microk8s']);
  });

  it('refreshes with sudo and --channel <channel>, and reads "no updates"', async () => {
    answers.set('snap refresh microk8s --channel 1.23/stable', { stdout: 'microk8s (1.23/stable) v1.23.17 from Canonical** refreshed\n' });
    expect(await node.refresh('1.23/stable')).toEqual({ changed: true, version: 'v1.23.17', channel: '1.23/stable' });
    answers.set('snap refresh microk8s --channel 1.23/stable', { stderr: 'snap "microk8s" has no updates available\n' });
    expect(await node.refresh('1.23/stable')).toEqual({ changed: false });
    expect(commands()).toEqual(['sudo -n -- snap refresh microk8s --channel 1.23/stable', 'sudo -n -- snap refresh microk8s --channel 1.23/stable']);
  });

  it('reverts, holds and unholds', async () => {
    answers.set('snap revert microk8s', { stdout: 'microk8s reverted to v1.22.3\n' });
    answers.set('snap refresh --hold microk8s', { stdout: 'General refreshes of "microk8s" held indefinitely\n' });
    answers.set('snap refresh --hold=48h microk8s', { stdout: 'General refreshes of "microk8s" held until 2026-07-03T10:20:30Z\n' });
    answers.set('snap refresh --unhold microk8s', { stdout: 'Removed general refresh hold of "microk8s"\n' });
    expect(await node.revert()).toEqual({ version: 'v1.22.3' });
    expect(await node.hold()).toEqual({ held: true, until: 'forever' });
    expect(await node.hold('2d')).toEqual({ held: true, until: '2026-07-03T10:20:30Z' });
    expect(await node.unhold()).toEqual({ held: false });
  });

  it('names the node when the output cannot be read', async () => {
    answers.set('snap list microk8s', { stdout: 'something else entirely\n' });
    const err = await rejectionOf(node.snap(), OutputParseError);
    expect(err.message).toMatch(/`snap list microk8s` on k8s-1: expected/);
    expect(err.node).toBe('k8s-1');
  });

  it('refuses invalid values before running anything', async () => {
    await expect(node.refresh('1.23/stable; reboot')).rejects.toBeInstanceOf(InvalidValueError);
    await expect(node.refresh('latest')).rejects.toBeInstanceOf(InvalidValueError);
    await expect(node.hold('24hr')).rejects.toBeInstanceOf(InvalidValueError);
    await expect(node.drain('k8s-1 --force', 60)).rejects.toBeInstanceOf(InvalidValueError);
    await expect(node.drain('k8s-1', 0)).rejects.toBeInstanceOf(InvalidValueError);
    await expect(node.uncordon('$(reboot)')).rejects.toBeInstanceOf(InvalidValueError);
    await expect(node.pods({ node: 'x,spec.nodeName!=y' })).rejects.toBeInstanceOf(InvalidValueError);
    await expect(node.waitNodeReady('K8S-1', 10)).rejects.toBeInstanceOf(InvalidValueError);
    await expect(node.status({ waitReadySeconds: -5 })).rejects.toBeInstanceOf(InvalidValueError);
    expect(server.execs).toHaveLength(0);
  });
});

describe('MicroK8sNode status', () => {
  it('runs status --format yaml with sudo', async () => {
    answers.set('microk8s status --format yaml', { stdout: fixture('status-yaml-ha.txt') });
    const s = await node.status();
    expect(s.members.filter((m) => m.role === 'voter')).toHaveLength(3);
    expect(commands()).toEqual(['sudo -n -- microk8s status --format yaml']);
  });

  it('returns not-ready (exit 1 with output) as running: false when not waiting', async () => {
    answers.set('microk8s status --format yaml', { stdout: fixture('status-yaml-not-ready.txt'), code: 1 });
    expect(await node.status()).toMatchObject({ running: false, message: expect.stringContaining('not running') });
  });

  it('waits with --wait-ready --timeout and fails clearly when still not ready', async () => {
    answers.set('microk8s status --format yaml --wait-ready --timeout 30', { stdout: fixture('status-yaml-not-ready.txt'), code: 1 });
    const err = await rejectionOf(node.status({ waitReadySeconds: 30 }), NotReadyError);
    expect(err.message).toMatch(/MicroK8s on k8s-1 is not ready after waiting 30 s/);
    answers.set('microk8s status --format yaml --wait-ready --timeout 30', { stdout: fixture('status-yaml-single.txt') });
    expect((await node.status({ waitReadySeconds: 30 })).running).toBe(true);
  });

  it('treats exit 1 without a status as a failed command', async () => {
    answers.set('microk8s status --format yaml', { stderr: 'Insufficient permissions to access MicroK8s.\n', code: 1 });
    const err = await rejectionOf(node.status(), CommandFailedError);
    expect(err.code).toBe(1);
    expect(err.stderrTail).toContain('Insufficient permissions');
  });

  it('reads microk8s version, falling back to snap list before 1.25', async () => {
    answers.set('microk8s version', { stdout: 'MicroK8s v1.32.3 revision 7647\n' });
    expect(await node.version()).toEqual({ version: 'v1.32.3', revision: '7647' });
    answers.set('microk8s version', { stdout: "'version' is not a valid MicroK8s subcommand.\nAvailable subcommands are:\n", code: 1 });
    answers.set('snap list microk8s', { stdout: fixture('snap-list-ssh-held.txt') });
    expect(await node.version()).toEqual({ version: 'v1.22.3', revision: '2551' });
  });
});

describe('MicroK8sNode kubectl operations', () => {
  it('reads nodes and one node', async () => {
    answers.set('microk8s kubectl get nodes -o json', { stdout: fixture('nodes.json') });
    expect((await node.nodes()).map((n) => n.name)).toEqual(['k8s-3', 'k8s-2', 'k8s-1', 'w1']);
    expect(await node.node('k8s-1')).toMatchObject({ unschedulable: true });
    expect(await node.node('k8s-9')).toBeUndefined();
    expect(commands().every((c) => c === 'sudo -n -- microk8s kubectl get nodes -o json')).toBe(true);
  });

  it("lists one node's pods with a field selector, filtered here too, and reads the whole list where the selector is refused", async () => {
    const doc = JSON.parse(fixture('pods.json')) as { items: { spec: { nodeName?: string } }[] };
    const wanted = doc.items.filter((p) => p.spec.nodeName === 'k8s-1').length;
    expect(wanted).toBeGreaterThan(0);
    const selector = 'microk8s kubectl get pods -A -o json --field-selector spec.nodeName=k8s-1';
    const sent = () => commands().map((c) => c.replace(/^sudo -n -- /, ''));

    // The API server filters: only that node's pods come back.
    answers.set(selector, { stdout: JSON.stringify({ ...doc, items: doc.items.filter((p) => p.spec.nodeName === 'k8s-1') }) });
    expect((await node.pods({ node: 'k8s-1' })).every((p) => p.node === 'k8s-1')).toBe(true);
    expect(sent()).toEqual([selector]);

    // An emulation that ignores the selector answers with every node's pods: filtered here.
    server.execs.length = 0;
    answers.set(selector, { stdout: fixture('pods.json') });
    const ignored = await node.pods({ node: 'k8s-1' });
    expect(ignored).toHaveLength(wanted);
    expect(ignored.every((p) => p.node === 'k8s-1')).toBe(true);

    // One that refuses the flag: the whole list, as before.
    server.execs.length = 0;
    answers.set(selector, { stderr: 'Error: unknown flag: --field-selector\n', code: 1 });
    answers.set('microk8s kubectl get pods -A -o json', { stdout: fixture('pods.json') });
    expect(await node.pods({ node: 'k8s-1' })).toHaveLength(wanted);
    expect(sent()).toEqual([selector, 'microk8s kubectl get pods -A -o json']);

    // An empty answer is not believed (a node runs a DaemonSet's pod): the whole list decides.
    server.execs.length = 0;
    answers.set(selector, { stdout: JSON.stringify({ ...doc, items: [] }) });
    expect(await node.pods({ node: 'k8s-1' })).toHaveLength(wanted);
    expect(sent()).toEqual([selector, 'microk8s kubectl get pods -A -o json']);
  });

  it("does not read the whole list after the node's selector read timed out (one timeout, not two)", async () => {
    const selector = 'microk8s kubectl get pods -A -o json --field-selector spec.nodeName=k8s-1';
    answers.set(selector, 'hang');
    answers.set('microk8s kubectl get pods -A -o json', { stdout: fixture('pods.json') });
    const quick = new SshConnection(targetFor(server, { commandTimeoutMs: 300 }));
    try {
      await rejectionOf(new MicroK8sNode(quick).pods({ node: 'k8s-1' }), CommandTimeoutError);
      expect(commands().map((c) => c.replace(/^sudo -n -- /, ''))).toEqual([selector]);
    } finally {
      quick.close();
    }
  });

  it('drains with the runbook flags and returns the evicted pods', async () => {
    const seed = fixture('drain-seed.txt').split('\n');
    answers.set('microk8s kubectl drain k8s-1 --ignore-daemonsets --delete-emptydir-data --timeout=300s', {
      // kubectl prints the evicting/warning lines on stderr, the rest on stdout
      stdout: `${seed.filter((l) => !/^(evicting|WARNING)/.test(l)).join('\n')}\n`,
      stderr: `${seed.filter((l) => /^(evicting|WARNING)/.test(l)).join('\n')}\n`,
    });
    expect((await node.drain('k8s-1', 300)).evicted).toHaveLength(4);
  });

  it('reports a drain timeout as CommandFailedError with kubectl stderr', async () => {
    answers.set('microk8s kubectl drain k8s-1 --ignore-daemonsets --delete-emptydir-data --timeout=60s', {
      stdout: 'node/k8s-1 cordoned\n',
      stderr: 'evicting pod default/web-1\nerror: unable to drain node "k8s-1" due to error:global timeout reached: 1m0s, continuing command...\n',
      code: 1,
    });
    const err = await rejectionOf(node.drain('k8s-1', 60), CommandFailedError);
    expect(err.stderrTail).toContain('global timeout reached');
  });

  it('cordons and uncordons idempotently', async () => {
    answers.set('microk8s kubectl uncordon k8s-1', { stdout: 'node/k8s-1 already uncordoned\n' });
    answers.set('microk8s kubectl cordon k8s-1', { stdout: 'node/k8s-1 cordoned\n' });
    expect(await node.uncordon('k8s-1')).toEqual({ changed: false });
    expect(await node.cordon('k8s-1')).toEqual({ changed: true });
  });

  it('refuses a worker node answering kubectl with its notice (exit 0)', async () => {
    answers.set('microk8s kubectl uncordon k8s-1', { stdout: 'This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s kubectl on the master.\n' });
    const err = await rejectionOf(node.uncordon('k8s-1'), WorkerNodeError);
    expect(err.message).toMatch(/k8s-1: it is a MicroK8s worker node/);
  });

  it('waits for Ready and reads the node back', async () => {
    answers.set('microk8s kubectl wait --for=condition=Ready node/k8s-3 --timeout=120s', { stdout: 'node/k8s-3 condition met\n' });
    answers.set('microk8s kubectl get nodes -o json', { stdout: fixture('nodes.json') });
    expect(await node.waitNodeReady('k8s-3', 120)).toMatchObject({ name: 'k8s-3', ready: true });
  });

  it('does not report success when the node flips back to NotReady/Unknown', async () => {
    answers.set('microk8s kubectl wait --for=condition=Ready node/k8s-2 --timeout=120s', { stdout: 'node/k8s-2 condition met\n' });
    answers.set('microk8s kubectl get nodes -o json', { stdout: fixture('nodes.json') });
    const err = await rejectionOf(node.waitNodeReady('k8s-2', 120), NotReadyError);
    expect(err.message).toMatch(/k8s-2 was Ready, then reported NotReady\/Unknown/);
  });

  it('reports a kubectl wait timeout as a failed command', async () => {
    answers.set('microk8s kubectl wait --for=condition=Ready node/k8s-2 --timeout=5s', {
      stderr: 'error: timed out waiting for the condition on nodes/k8s-2\n',
      code: 1,
    });
    const err = await rejectionOf(node.waitNodeReady('k8s-2', 5), CommandFailedError);
    expect(err.message).toContain('timed out waiting for the condition');
  });
});

describe('MicroK8sNode backup and clock', () => {
  it('tars the backend with sudo, reads sha256 and size, and the download matches', async () => {
    expect(backupStamp(new Date('2026-07-01T10:20:30.456Z'))).toBe('20260701T102030Z');
    const b = await node.backupDatastore('ubuntu');
    const path = '/var/snap/microk8s/common/mk8s-backup-20260701T102030Z.tar.gz';
    expect(b).toEqual({ remotePath: path, sha256: SHA, bytes: BACKUP.length });
    expect(commands()).toEqual([
      `sudo -n -- install -m 0600 -o ubuntu /dev/null ${path}`,
      `sudo -n -- tar -czf ${path} -C /var/snap/microk8s/current/var/kubernetes backend`,
      `sudo -n -- sha256sum ${path}`,
      `sudo -n -- stat -c %s ${path}`,
    ]);
    const local = join(mkdtempSync(join(tmpdir(), 'bk-')), 'b.tar.gz');
    expect(await node.fetchChecked(b.remotePath, local, b)).toEqual({ ok: true, sha256: SHA, bytes: BACKUP.length });
    expect(readFileSync(local).equals(BACKUP)).toBe(true);
    // a copy that does not match what the node reported is deleted, and its own digest returned
    expect(await node.fetchChecked(b.remotePath, local, { ...b, sha256: '0'.repeat(64) })).toEqual({ ok: false, sha256: SHA, bytes: BACKUP.length });
    // A failed fetch never replaces the good copy already there, and leaves no partial file.
    expect(readFileSync(local).equals(BACKUP)).toBe(true);
    expect(existsSync(`${local}.part`)).toBe(false);
    expect((statSync(local).mode & 0o777).toString(8)).toBe('600');
  });

  it('reads the clock without sudo', async () => {
    answers.set('date +%s', { stdout: '1782901230\n' });
    expect(await node.epochSeconds()).toBe(1_782_901_230);
    expect(commands()).toEqual(['date +%s']);
  });
});
