/**
 * Quorum recovery, the doing half: steps 1–8 of the seed's 从丢失的仲裁中恢复, each safe to
 * repeat (it checks the node first), plus the failure choice (retry the step, or restore every
 * survivor from the step-1 backups) and the plan shown by --dry-run and the gates.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { RunContext } from '../engine/context.ts';
import { errorText } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { BACKEND_DIR, dataFiles, DQLITE_BIN, KUBERNETES_DIR, parseClusterYaml, roleName, templateFiles } from '../microk8s/dqlite-files.ts';
import { backupStamp, sha256OfFile } from '../microk8s/node.ts';
import { writeManifest } from '../store/backup-store.ts';
import { markLost } from '../store/lost-nodes.ts';
import { describeHa, readMembership, removeNodeFrom } from './membership.ts';
import type { Survey } from './recover-quorum.ts';

export type SurvivorBackup = { node: string; remotePath: string; localPath: string; sha256: string; bytes: number };

const CLUSTER_YAML = `${BACKEND_DIR}/cluster.yaml`;
/** `microk8s stop`/`start` may take minutes on a broken cluster (microk8s#3859). */
const START_STOP_MS = 10 * 60_000;

const backend = (run: RunContext, node: string) => run.node(node).backend();

/** The commands of the whole procedure, node by node, as a person would type them. */
export function recoveryPlan(s: Survey | undefined): PlanStep[] {
  const survivors = s ? s.survivors.map((x) => x.node) : ['<each survivor>'];
  const template = s?.template ?? '<template>';
  const others = s ? survivors.filter((n) => n !== template) : ['<each other survivor>'];
  const lost = s ? s.lost : ['<each lost node>'];
  const reconf = `sudo ${DQLITE_BIN} -s 127.0.0.1:19001 -c ${BACKEND_DIR}/cluster.crt -k ${BACKEND_DIR}/cluster.key k8s ".reconfigure ${BACKEND_DIR}/ ${BACKEND_DIR}/cluster.yaml"`;
  return [
    { title: 'read every survivor and check quorum is really lost', commands: ['sudo ls -1 <backend>; sudo cat <backend>/info.yaml <backend>/cluster.yaml', 'nc -z -v -w 3 <lost member> 19001 (from every survivor)'] },
    ...survivors.map((n) => ({ title: `step 1: back up ${n}'s whole backend`, node: n, commands: ['mktemp -d', `sudo tar -czf <tmpdir>/backend-${n}-<time>.tar.gz -C ${KUBERNETES_DIR} backend`, 'sudo sha256sum <tarball>; sudo stat -c %s <tarball>', '(fetch over SFTP into MK8S_BACKUP_DIR/<cluster>/<node>/, sha256 compared)'] })),
    ...survivors.map((n) => ({ title: `step 2: stop MicroK8s on ${n}`, node: n, commands: ['sudo microk8s stop', 'sudo microk8s status --format yaml (must say not running)', 'nc -z -w 3 127.0.0.1 19001 (must be refused)'], destructive: true })),
    { title: `step 3: write the new cluster.yaml on ${template}`, node: template, commands: ['(SFTP <tmpdir>/cluster.yaml.new)', `sudo cp -p ${BACKEND_DIR}/cluster.yaml ${BACKEND_DIR}/cluster.yaml.pre-recovery-<job>`, `sudo cp <tmpdir>/cluster.yaml.new ${BACKEND_DIR}/cluster.yaml.mk8s-new (over a -p copy)`, `sudo mv -f ${BACKEND_DIR}/cluster.yaml.mk8s-new ${BACKEND_DIR}/cluster.yaml`], destructive: true },
    { title: `step 4: reconfigure dqlite once, on ${template} only`, node: template, commands: [reconf, '(must print OK)'], destructive: true },
    { title: `step 5: update ${others.join(', ') || 'no other survivor'} from ${template}`, node: template, commands: [`(on ${template}) sudo tar -czf <tmpdir>/recovered.tar.gz -C ${BACKEND_DIR} cluster.yaml snapshot-* snapshot-*.meta <closed segments>`, `(on each) sudo rm -f ${BACKEND_DIR}/{snapshot-*,*.meta,<closed segments>,open-*,metadata1,metadata2}`, `(on each) sudo tar -xzf <tmpdir>/recovered.tar.gz -C ${BACKEND_DIR}; sudo sha256sum … (compared with ${template}); info.yaml kept`], destructive: true },
    ...survivors.map((n) => ({
      title: `step 6: start MicroK8s on ${n}`,
      node: n,
      commands: n === template ? ['sudo microk8s start'] : [`sudo ls -1 ${BACKEND_DIR}; sudo sha256sum … (the files from ${template}, compared again; copied again if changed)`, 'sudo microk8s start'],
    })),
    { title: 'step 6: wait until the API answers and microk8s status lists the new voters', commands: ['sudo microk8s status --format yaml (every survivor, until readyTimeout)'] },
    ...lost.map((n) => ({ title: `step 7: remove the lost node ${n}`, node: template, commands: [`sudo microk8s remove-node ${n} (--force only if dqlite still lists it)`], destructive: true })),
    { title: 'step 8: report the HA state', commands: ['sudo microk8s status --format yaml'] },
  ];
}

/** Step 1 for one survivor: the whole backend as a tarball in a private temp dir, fetched and checked on both ends. */
export async function backUpSurvivor(run: RunContext, node: string): Promise<SurvivorBackup> {
  const b = backend(run, node);
  const dir = await b.privateDir();
  const stamp = backupStamp(new Date());
  const remotePath = `${dir}/backend-${node}-${stamp}.tar.gz`;
  const remote = await b.tarBackend(remotePath);
  const localDir = resolve(run.backupDir, run.cluster.name, node);
  await mkdir(localDir, { recursive: true });
  // the name the `backups` verb lists; the manifest says which job took it
  const localPath = join(localDir, `mk8s-backup-${stamp}.tar.gz`);
  await b.download(remotePath, localPath);
  const [local, info] = await Promise.all([sha256OfFile(localPath), stat(localPath)]);
  if (local !== remote.sha256 || info.size !== remote.bytes) {
    await rm(localPath, { force: true });
    throw new RunbookFailure(`The backup of ${node} does not match: ${node} says sha256 ${remote.sha256} (${remote.bytes} bytes), the copy here is ${local} (${info.size} bytes). Nothing was stopped or changed.`);
  }
  await writeManifest(localPath, { cluster: run.cluster.name, node, file: basename(localPath), sha256: local, bytes: info.size, job: run.jobId, time: new Date().toISOString(), remotePath });
  // verified here: the node does not keep a second copy of its datastore
  await b.removePath(remotePath);
  return { node, remotePath, localPath, sha256: local, bytes: info.size };
}

/** Step 2 for one survivor: `microk8s stop`, then it must say so and its dqlite port must be closed. */
export async function stopSurvivor(run: RunContext, node: string): Promise<string> {
  const ops = run.node(node);
  const stopped = await ops.membership.stopOrStart('stop', START_STOP_MS);
  if (stopped.worker) throw new RunbookFailure(`\`microk8s stop\` on ${node} answered that it is a worker node (${stopped.worker}): nothing was stopped.`);
  const status = await ops.status();
  if (status.running) throw new RunbookFailure(`${node} still reports \`microk8s is running\` after \`microk8s stop\`.`);
  const port = await ops.membership.canReach('127.0.0.1', 19001);
  if (port.ok || !port.checked) throw new RunbookFailure(`${node}'s dqlite port 19001 still answers after \`microk8s stop\`; it is not safe to reconfigure.`);
  return `stopped (${status.message ?? 'not running'}; :19001 closed)`;
}

/** Step 3: the new cluster.yaml on the template (already there → nothing to do). */
export async function writeClusterYaml(run: RunContext, s: Survey): Promise<string> {
  const ops = run.node(s.template);
  const now = await ops.backend().clusterYaml();
  if (now.text === s.proposed) return 'already in place';
  // the old one kept beside it (cp -p), then SFTP + atomic rename, read back and compared
  const kept = await ops.backupFile(CLUSTER_YAML, `prerecovery${run.jobId}`);
  await ops.writeFile(CLUSTER_YAML, s.proposed, run.jobId, true);
  return `written; the old one kept as ${basename(kept)}`;
}

/** Step 4: `.reconfigure` once on the template — skipped when its log already ends in the new configuration. */
export async function reconfigureTemplate(run: RunContext, s: Survey): Promise<string> {
  const b = backend(run, s.template);
  const before = await b.list();
  const lastBefore = s.survivors.find((x) => x.node === s.template)!.lastIndex;
  const single = before.closed.find((c) => c.start === c.end && c.start > lastBefore);
  if (single) return `already done (${single.name} holds the new configuration); not run again`;
  await b.reconfigure();
  const after = await b.list();
  const written = after.closed.find((c) => c.start === c.end && c.start > lastBefore);
  return `OK${written ? ` · new configuration entry ${written.name}` : ''}`;
}

export type Pack = { remotePath: string; localPath: string; sha256: string; files: Record<string, string> };

/** Step 5a: the template's new cluster.yaml, snapshots + meta and closed segments, packed and fetched. */
export async function packTemplate(run: RunContext, s: Survey): Promise<Pack> {
  const b = backend(run, s.template);
  const names = ['cluster.yaml', ...templateFiles(await b.list())];
  const files = await b.sums(names);
  const dir = await b.privateDir();
  const remotePath = `${dir}/recovered-${s.template}.tar.gz`;
  const remote = await b.tarFiles(remotePath, names);
  const localDir = resolve(run.backupDir, run.cluster.name, s.template);
  await mkdir(localDir, { recursive: true });
  const localPath = join(localDir, `recover-quorum-${run.jobId}-template.tar.gz`);
  await b.download(remotePath, localPath);
  if ((await sha256OfFile(localPath)) !== remote.sha256) throw new RunbookFailure(`The template files fetched from ${s.template} do not match their sha256 there.`);
  return { remotePath, localPath, sha256: remote.sha256, files };
}

/** Step 5b for one other survivor: delete its leftovers, copy the template's files, compare checksums, check info.yaml. */
export async function updateSurvivor(run: RunContext, s: Survey, node: string, pack: Pack): Promise<string> {
  const b = backend(run, node);
  const leftovers = dataFiles(await b.list());
  await b.remove(leftovers);
  const still = dataFiles(await b.list());
  if (still.length > 0) throw new RunbookFailure(`${node} still has ${still.join(', ')} after deleting its leftovers: it would fail to rejoin. Nothing was copied to it.`);
  const remote = await b.uploadPrivate(await readFile(pack.localPath), 'recovered.tar.gz');
  const sent = await b.digest(remote);
  if (sent.sha256 !== pack.sha256) throw new RunbookFailure(`The copy of the template files on ${node} does not match (sha256 ${sent.sha256}, expected ${pack.sha256}).`);
  await b.untar(remote, 'backend');
  await b.removePath(remote);
  const sums = await b.sums(Object.keys(pack.files));
  const differ = Object.keys(pack.files).filter((n) => sums[n] !== pack.files[n]);
  if (differ.length > 0) throw new RunbookFailure(`On ${node}, ${differ.join(', ')} differ from ${s.template}'s after the copy.`);
  const { info } = await b.info();
  const members = parseClusterYaml(s.proposed).members;
  const me = members.find((m) => m.id === info.id);
  if (!me || me.address !== info.address) throw new RunbookFailure(`${node}'s info.yaml (ID ${info.id}, ${info.address}) does not match the new cluster.yaml.`);
  return `${leftovers.length} leftover file(s) deleted, ${Object.keys(pack.files).length} copied (sha256 match), info.yaml kept (ID ${info.id}, ${roleName(me.role)})`;
}

/** What on an updated survivor no longer matches the template files step 5 copied there (empty: all of them, nothing else). */
async function driftFromPack(run: RunContext, node: string, pack: Pack): Promise<string[]> {
  const b = backend(run, node);
  const copied = Object.keys(pack.files);
  const present = new Set(dataFiles(await b.list()));
  const expected = new Set(copied.filter((n) => n !== 'cluster.yaml'));
  const drift = [...[...expected].filter((n) => !present.has(n)).map((n) => `${n} missing`), ...[...present].filter((n) => !expected.has(n)).map((n) => `${n} not from the template`)];
  if (drift.length > 0) return drift;
  const sums = await b.sums(copied);
  return copied.filter((n) => sums[n] !== pack.files[n]).map((n) => `${n} changed`);
}

/**
 * Step 6a: `microk8s start` on one survivor. A survivor updated in step 5 is compared with the
 * template's files once more first: a command of a worker that died in step 5 may have reached
 * the node after the resumed copy (a late `rm -f`), and a survivor started on a partial log would
 * not rejoin. Changed files are copied again (step 5 is safe to repeat) before the start.
 */
export async function startSurvivor(run: RunContext, node: string, updated?: { survey: Survey; pack: Pack }): Promise<string> {
  let again = '';
  if (updated) {
    const drift = await driftFromPack(run, node, updated.pack);
    if (drift.length > 0) {
      await updateSurvivor(run, updated.survey, node, updated.pack);
      const still = await driftFromPack(run, node, updated.pack);
      if (still.length > 0) throw new RunbookFailure(`${node}'s datastore files keep changing after the copy from ${updated.survey.template} (${still.slice(0, 5).join(', ')}): it was not started. Something else writes to its backend.`);
      again = ` (its files had changed since step 5 — ${drift.slice(0, 5).join(', ')}${drift.length > 5 ? ', …' : ''} — and were copied again from ${updated.survey.template})`;
    }
  }
  const r = await run.node(node).membership.stopOrStart('start', START_STOP_MS);
  if (r.worker) throw new RunbookFailure(`\`microk8s start\` on ${node} answered that it is a worker node (${r.worker}).`);
  return `started${again}`;
}

/** Step 6b: every survivor running and the template's status listing exactly the new voters. */
export async function waitForNewVoters(run: RunContext, s: Survey): Promise<string> {
  const voters = parseClusterYaml(s.proposed).members.filter((m) => m.role === 0).map((m) => m.address).toSorted();
  const deadline = Date.now() + run.cluster.policy.readyTimeout;
  let last = '';
  for (;;) {
    const seen: string[] = [];
    let ok = true;
    for (const x of s.survivors) {
      try {
        const st = await run.node(x.node).status();
        if (!st.running) {
          ok = false;
          seen.push(`${x.node}: ${st.message ?? 'not running'}`);
          continue;
        }
        if (x.node === s.template) {
          const listed = st.members.filter((m) => m.role === 'voter').map((m) => m.address).toSorted();
          if (listed.join(' ') !== voters.join(' ')) {
            ok = false;
            seen.push(`${x.node} lists voters ${listed.join(' ') || 'none'}`);
          }
        }
      } catch (err) {
        ok = false;
        seen.push(`${x.node}: ${errorText(err)}`);
      }
    }
    if (ok) return `the API answers on every survivor; voters ${voters.join(', ')}`;
    last = seen.join('; ');
    if (Date.now() > deadline) throw new RunbookFailure(`Not every survivor came back within readyTimeout: ${last}.`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Step 7 for one lost node: `microk8s remove-node` on the template (`--force` only if dqlite still lists it). */
export async function removeLost(run: RunContext, s: Survey, lost: string): Promise<string> {
  const m = await readMembership(run, s.template);
  const member = s.members.find((x) => !x.survivor && !x.worker && (x.node ?? x.address) === lost);
  const kube = m.kube.find((k) => k.name === lost || (member && k.internalIp === member.address.slice(0, member.address.lastIndexOf(':'))));
  const stillListed = member ? m.members.some((x) => x.address === member.address) : false;
  if (!kube && !stillListed) return `${lost} is already gone from Kubernetes and dqlite`;
  const r = await removeNodeFrom(run, s.template, kube?.name ?? lost, stillListed);
  return `${r === 'removed' ? 'removed' : 'already gone'}${stillListed ? ' (--force: dqlite still listed it)' : ''}`;
}

/**
 * Step 8's record: every old member that is neither a survivor nor a spare worker is marked lost
 * (src/store/lost-nodes.ts), so `status` shows it and `add-node` refuses it until it is reinstalled.
 */
export async function markLostMembers(run: RunContext, s: Survey): Promise<void> {
  const oldMembers = s.members.map((m) => m.address);
  await markLost(run.redis, run.cluster.name, s.members.filter((m) => !m.survivor && !m.worker).map((m) => ({ node: m.node ?? m.address, address: m.address, oldMembers, byJob: run.jobId, at: Date.now() })));
}

/** Step 8: the HA state after recovery. */
export async function reportHa(run: RunContext, s: Survey): Promise<string> {
  return describeHa(await readMembership(run, s.template));
}

/** Each survivor's state in plain words, for a failure message. */
export async function survivorsState(run: RunContext, s: Survey): Promise<string> {
  const parts = await Promise.all(
    s.survivors.map(async (x) => {
      try {
        const st = await run.node(x.node).status();
        const files = dataFiles(await backend(run, x.node).list());
        return `${x.node}: ${st.running ? 'running' : (st.message ?? 'not running')}, ${files.length} raft file(s)`;
      } catch (err) {
        return `${x.node}: unreadable (${errorText(err)})`;
      }
    }),
  );
  return parts.join('; ');
}

/**
 * Runs a step after the survivors were stopped; when it fails, states every survivor's state and
 * offers: retry the step, restore every survivor from the step-1 backups (an approver), or stop.
 */
export async function attempt<T>(run: RunContext, s: Survey, backups: readonly SurvivorBackup[], what: string, step: () => Promise<T>): Promise<T> {
  for (;;) {
    const tried = await run.attempt(step);
    if (tried.ok) return tried.value;
    const failure = tried.error;
    const state = await survivorsState(run, s);
    const choice = await run.choice({
      title: `${what} failed: retry, restore the survivors, or stop?`,
      what: `${errorText(failure)}\nSurvivors now: ${state}.\nRestore: every survivor's backend is replaced by its step-1 backup (${backups.map((b) => basename(b.localPath)).join(', ')}) and MicroK8s started as it was (quorum still lost).`,
      nodes: s.survivors.map((x) => x.node),
      options: [
        { id: 'retry', label: 'Retry the step', style: 'primary' },
        { id: 'restore', label: 'Restore every survivor', style: 'danger', role: 'approver', destructive: true },
        { id: 'stop', label: 'Stop' },
      ],
      onExpiry: 'stop',
    });
    if (choice === 'retry') continue;
    if (choice === 'restore') {
      for (const b of backups) await run.step(`restore ${b.node} from its step-1 backup`, () => restoreSurvivor(run, b));
      throw new RunbookFailure(`${what} failed: ${errorText(failure)}. Every survivor was restored from its step-1 backup and started as it was; quorum is still lost. Survivors: ${await survivorsState(run, s)}.`);
    }
    throw new RunbookFailure(`${what} failed: ${errorText(failure)}. Stopped as asked; survivors: ${state}. The step-1 backups are ${backups.map((b) => b.localPath).join(', ')}.`);
  }
}

/** Stops the node, deletes its raft files and cluster.yaml, unpacks its step-1 backup and starts it. */
export async function restoreSurvivor(run: RunContext, b: SurvivorBackup): Promise<string> {
  const x = backend(run, b.node);
  await run.node(b.node).membership.stopOrStart('stop', START_STOP_MS);
  const remote = await x.uploadPrivate(await readFile(b.localPath), basename(b.localPath));
  const sent = await x.digest(remote);
  if (sent.sha256 !== b.sha256) throw new RunbookFailure(`The backup copied to ${b.node} does not match its sha256.`);
  await x.remove([...dataFiles(await x.list()), 'cluster.yaml']);
  await x.untar(remote, 'kubernetes');
  await x.removePath(remote);
  await run.node(b.node).membership.stopOrStart('start', START_STOP_MS);
  return `restored from ${basename(b.localPath)} and started`;
}
