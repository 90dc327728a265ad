/** Read-only answers of issue 3's verbs: `snap-proxy list` and `backups`. Nothing is queued. */
import type { ChatMessage } from '../chat/port.ts';
import type { ClusterConfig } from '../config/inventory.ts';
import { errorText } from '../engine/context.ts';
import { MicroK8sNode } from '../microk8s/node.ts';
import { SnapProxy } from '../microk8s/snap-proxy.ts';
import { formatAge, formatBytes, listBackups } from '../store/backup-store.ts';
import { describeOverrides } from '../ops/snap-proxy.ts';
import { SshPool } from '../ssh/pool.ts';
import { snapProxyTarget, sshTargetFor } from '../ssh/target.ts';

/** Bounds of the SSH reads behind `snap-proxy list` (it answers a person waiting in chat). */
const READ_TIMEOUT_MS = 15_000;

/**
 * `snap-proxy list`: the overrides on the proxy (`snap-proxy list-overrides microk8s`), and which
 * nodes use it (`snap get core proxy.store` on each, against the store id of `snap-proxy status`).
 */
export async function snapProxyListMessage(cluster: ClusterConfig, shared?: SshPool): Promise<ChatMessage> {
  const target = snapProxyTarget(cluster);
  if (!target) return { text: `cluster ${cluster.name} has no Snap Store Proxy in the inventory.` };
  const pool = shared ?? new SshPool({});
  const bounded = { commandTimeoutMs: READ_TIMEOUT_MS };
  try {
    const proxy = new SnapProxy(pool.shell({ ...target, connectTimeoutMs: Math.min(target.connectTimeoutMs, READ_TIMEOUT_MS) }, bounded));
    let overrides;
    let storeId: string;
    try {
      overrides = await proxy.listOverrides();
      storeId = (await proxy.status()).storeId;
    } catch (err) {
      return { text: `Could not read the Snap Store Proxy of ${cluster.name} (${target.host}:${target.port}): ${errorText(err)}` };
    }
    const nodes = await Promise.all(
      cluster.nodes.map(async (n) => {
        try {
          const store = await new MicroK8sNode(pool.shell(sshTargetFor(cluster, n.name), bounded)).proxyStore();
          return { name: n.name, state: store === storeId ? 'uses the proxy' : store === undefined ? 'public Snap Store' : `another store (${store})` };
        } catch (err) {
          return { name: n.name, state: `unreadable (${errorText(err).slice(0, 120)})` };
        }
      }),
    );
    const using = nodes.filter((n) => n.state === 'uses the proxy').map((n) => n.name);
    const lines = [
      `*Snap Store Proxy of ${cluster.name}* (${target.host}, store ${storeId})`,
      overrides.length === 0
        ? 'No overrides: every channel follows upstream.'
        : ['Pinned channels (microk8s):', ...overrides.map((o) => `• \`${o.channel}\` → revision ${o.revision} (${o.arch}${o.upstream ? `, upstream ${o.upstream}` : ''})`)].join('\n'),
      'Nodes:',
      ...nodes.map((n) => `• ${n.name}: ${n.state}`),
    ];
    if (using.length < nodes.length) lines.push('Pins apply only to nodes that use the proxy: `snap-proxy connect <node>`.');
    return { text: `Snap Store Proxy of ${cluster.name}: ${describeOverrides(overrides)}; ${using.length}/${nodes.length} node(s) use it`, body: lines.join('\n') };
  } finally {
    if (pool !== shared) pool.closeAll();
  }
}

/** `backups`: the cluster's backups on the bot host, newest first. */
export async function backupsMessage(backupDir: string, cluster: ClusterConfig, now = Date.now()): Promise<ChatMessage> {
  const all = await listBackups(backupDir, cluster.name);
  const keep = cluster.backups.keep;
  if (all.length === 0) return { text: `No datastore backups of ${cluster.name} on the bot host yet (kept: the newest ${keep}). Take one with \`backup\`.` };
  const lines = all.map((b, i) => {
    const when = new Date(b.takenAt).toISOString().slice(0, 16).replace('T', ' ');
    const sha = b.sha256 ? `sha256 ${b.sha256.slice(0, 12)}` : 'no manifest';
    return `${i + 1}. ${when} UTC (${formatAge(now - b.takenAt)} ago) · ${b.node} · ${formatBytes(b.bytes)} · ${sha}${b.job ? ` · job ${b.job}` : ''}`;
  });
  return {
    text: `${all.length} datastore backup(s) of ${cluster.name}, newest first (kept: the newest ${keep})`,
    body: `${lines.join('\n')}\nFiles: \`${backupDir}/${cluster.name}/<node>/\` (each with a .json manifest).`,
  };
}
