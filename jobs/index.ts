/**
 * jobs/ — one runbook per file: the verb's spec (usage, arguments, plan) and a body that reads like
 * the seed's numbered steps, one line per step. Its helpers live in src/ops/<verb>.ts; it imports
 * the engine, src/ops and src/microk8s types only (the lint forbids bullmq, src/ssh and src/chat).
 */
import type { Runbook } from '../src/engine/define.ts';
import addNode from './add-node.ts';
import addonRefresh from './addon-refresh.ts';
import apiserverProxy from './apiserver-proxy.ts';
import backup from './backup.ts';
import cordon from './cordon.ts';
import drain from './drain.ts';
import enableHa from './enable-ha.ts';
import failureDomain from './failure-domain.ts';
import hold from './hold.ts';
import inspect from './inspect.ts';
import recoverQuorum from './recover-quorum.ts';
import removeNode from './remove-node.ts';
import rollbackNode from './rollback-node.ts';
import snapProxyConnect from './snap-proxy-connect.ts';
import snapProxyPin from './snap-proxy-pin.ts';
import snapProxyUnpin from './snap-proxy-unpin.ts';
import uncordon from './uncordon.ts';
import upgradeCni from './upgrade-cni.ts';
import unhold from './unhold.ts';
import upgradeCluster from './upgrade-cluster.ts';
import upgradeNode from './upgrade-node.ts';
import verify from './verify.ts';
import windowsWorkerAdd from './windows-worker-add.ts';
import windowsWorkerRemove from './windows-worker-remove.ts';
import windowsWorkerUpgrade from './windows-worker-upgrade.ts';

/** Every runbook, by verb. A new runbook is a new file here and one line below. */
export const runbooks: readonly Runbook[] = [upgradeNode, rollbackNode, drain, cordon, uncordon, hold, unhold, failureDomain, apiserverProxy, snapProxyPin, snapProxyUnpin, snapProxyConnect, backup, inspect, upgradeCluster, verify, addNode, removeNode, enableHa, upgradeCni, addonRefresh, windowsWorkerAdd, windowsWorkerRemove, windowsWorkerUpgrade, recoverQuorum] as Runbook[];

export function runbookMap(): Map<string, Runbook> {
  return new Map(runbooks.map((r) => [r.spec.verb, r]));
}
