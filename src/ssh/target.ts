/** Builds the SshTarget of an inventory node: host and port from the node, the rest from the cluster. */
import type { ClusterConfig } from '../config/inventory.ts';
import { UnknownNodeError } from '../errors/user-facing.ts';
import type { SshTarget } from './types.ts';

export { UnknownNodeError } from '../errors/user-facing.ts';

export function sshTargetFor(cluster: ClusterConfig, nodeName: string, env: NodeJS.ProcessEnv = process.env): SshTarget {
  const node = cluster.nodes.find((n) => n.name === nodeName);
  if (!node) {
    const known = cluster.nodes.map((n) => n.name).join(', ');
    throw new UnknownNodeError(`node "${nodeName}" is not in cluster ${cluster.name} (its nodes: ${known})`);
  }
  const ssh = cluster.ssh;
  const windows = node.os === 'windows';
  const target: SshTarget = {
    node: node.name,
    host: node.host,
    port: node.port,
    // Windows: its own account (an Administrator), and never `sudo -n` (cmd.exe has none)
    user: windows ? (cluster.windows?.user ?? ssh.user) : ssh.user,
    knownHostsPath: ssh.knownHostsPath,
    sudo: windows ? false : ssh.sudo,
    connectTimeoutMs: ssh.connectTimeout,
    commandTimeoutMs: ssh.commandTimeout,
  };
  if (ssh.privateKeyPath) target.privateKeyPath = ssh.privateKeyPath;
  if (ssh.agent) target.agent = true;
  if (ssh.passphraseEnv) {
    const passphrase = env[ssh.passphraseEnv];
    if (passphrase) target.passphrase = passphrase;
  }
  return target;
}

/** The Snap Store Proxy host of a cluster, reached with the cluster's SSH settings. */
export function snapProxyTarget(cluster: ClusterConfig, env: NodeJS.ProcessEnv = process.env): SshTarget | undefined {
  const proxy = cluster.snapProxy;
  if (!proxy) return undefined;
  const base = sshTargetFor({ ...cluster, nodes: [{ name: 'snap-proxy', host: proxy.host, port: proxy.port, role: 'worker', os: 'linux' }] }, 'snap-proxy', env);
  return base;
}
