/**
 * The SSH round trip every command pays: `date +%s` (MicroK8sNode.epochSeconds, 0 ms simulated)
 * over the bot's own SSH client (src/ssh) on one reused connection to a cluster's first node —
 * channel open, exec, output, exit and close between two processes. A job's commands run one
 * after the other, so commands × this is the least any bot on this transport adds to a rollout
 * (the "transport floor" the overhead and rolling benchmarks print next to their ratios).
 */
import { readFileSync } from 'node:fs';
import { clusterConfig, parseInventory } from '../src/config/inventory.ts';
import { MicroK8sNode } from '../src/microk8s/node.ts';
import { SshConnection } from '../src/ssh/connection.ts';
import type { Harness } from '../test/support/harness.ts';

const SAMPLES = 30;

export async function sshRoundTrip(h: Harness, clusterName: string): Promise<{ connect: number; rtt: number[] }> {
  const cluster = clusterConfig(parseInventory(readFileSync(h.env.MK8S_INVENTORY!, 'utf8'), 'inventory.yml'), clusterName);
  const n = cluster?.nodes[0];
  if (!cluster || !n) throw new Error(`bench: the inventory has no nodes in ${clusterName}`);
  const { user, privateKeyPath, knownHostsPath } = cluster.ssh;
  const conn = new SshConnection({ node: n.name, host: n.host, port: n.port, user, privateKeyPath, knownHostsPath, sudo: true, connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
  const node = new MicroK8sNode(conn);
  try {
    let t = performance.now();
    await node.epochSeconds();
    const connect = performance.now() - t;
    const rtt: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      t = performance.now();
      await node.epochSeconds();
      rtt.push(performance.now() - t);
    }
    return { connect, rtt };
  } finally {
    conn.close();
  }
}
