/**
 * The run context's access to nodes (context.ts): typed operations (src/microk8s) over the
 * process's pooled SSH connection to each node — or the job's own pool when the process has
 * none to share. Every command goes to the job's audit trail, and each first checks that this
 * activation still holds the job (job-lock.ts).
 */
import type { NodeConfig } from '../config/inventory.ts';
import { MicroK8sNode } from '../microk8s/node.ts';
import { SnapProxy } from '../microk8s/snap-proxy.ts';
import { WindowsNode } from '../microk8s/windows-node.ts';
import { SshPool } from '../ssh/pool.ts';
import { snapProxyTarget, sshTargetFor } from '../ssh/target.ts';
import type { CommandEvent, RemoteShell, SshTarget } from '../ssh/types.ts';
import { lockedShell } from './job-lock.ts';
import type { RunCore } from './run-core.ts';

export class RunNodes {
  private readonly pool: SshPool;
  /** The job's own pool when the process has none to share (closed with the job). */
  private readonly ownPool: boolean;
  private readonly nodes = new Map<string, MicroK8sNode>();
  private readonly windowsNodes = new Map<string, WindowsNode>();
  private proxy: SnapProxy | undefined;

  constructor(private readonly core: RunCore) {
    this.ownPool = core.deps.ssh === undefined;
    this.pool = core.deps.ssh ?? new SshPool({});
  }

  nodeConfig(name: string): NodeConfig {
    const { cluster } = this.core;
    const node = cluster.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`node ${name} is not in the inventory of cluster ${cluster.name}`);
    return node;
  }

  /**
   * The job's view of the process's pooled connection to a node: its commands go to the job's
   * audit trail, and each first checks that this activation still holds the job.
   */
  private shellOn(target: SshTarget): RemoteShell {
    return lockedShell(this.pool.shell(target, { onCommand: (e) => this.onCommand(e) }), this.core.lock, () => this.core.flush());
  }

  /** Typed MicroK8s operations on a node, over this job's one SSH connection to it. */
  node(name: string): MicroK8sNode {
    let ops = this.nodes.get(name);
    if (!ops) {
      this.nodeConfig(name);
      ops = new MicroK8sNode(this.shellOn(sshTargetFor(this.core.cluster, name)));
      this.nodes.set(name, ops);
    }
    return ops;
  }

  /** PowerShell operations on a Windows worker (an `os: windows` node), over the same one connection. */
  windowsNode(name: string): WindowsNode {
    const { cluster } = this.core;
    let ops = this.windowsNodes.get(name);
    if (!ops) {
      if (this.nodeConfig(name).os !== 'windows') throw new Error(`node ${name} is not a Windows node in the inventory of cluster ${cluster.name}`);
      ops = new WindowsNode(this.shellOn(sshTargetFor(cluster, name)), cluster.windows.scriptTimeout);
      this.windowsNodes.set(name, ops);
    }
    return ops;
  }

  /**
   * `snap-proxy …` on the cluster's Snap Store Proxy host (inventory `snapProxy`, the cluster's
   * SSH settings), over this job's connection to it. Throws when the cluster has none.
   */
  snapProxy(): SnapProxy {
    if (!this.proxy) {
      const target = snapProxyTarget(this.core.cluster);
      if (!target) throw new Error(`cluster ${this.core.cluster.name} has no snapProxy in the inventory`);
      this.proxy = new SnapProxy(this.shellOn(target));
    }
    return this.proxy;
  }

  /** Closes the job's own pool (a shared pool stays open for the next job). */
  close(): void {
    if (this.ownPool) this.pool.closeAll();
  }

  private onCommand(e: CommandEvent): void {
    const { cluster, jobId } = this.core;
    this.core.audited({ type: 'command', cluster: cluster.name, jobId, ...e, error: e.error });
  }
}
