/**
 * `kubectl cordon|uncordon NODE` and `kubectl drain NODE` of the simulated API server
 * (dispatched from kubectl.ts): drain's checks and texts (DaemonSet-managed, unmanaged and
 * local-storage pods), evictions through the PodDisruptionBudgets (disruption.ts) and `--timeout`.
 */
import { fail, formatGoDuration, parseGoDuration, type CommandContext, type CommandResult } from './context.ts';
import { evictWithBudgets } from './disruption.ts';
import type { SimPod } from './state.ts';
import { apiUnavailable, notFound, usageError } from './kubectl-common.ts';

export async function cordon(ctx: CommandContext, verb: 'cordon' | 'uncordon', positional: string[]): Promise<CommandResult> {
  if (positional.length === 0) return usageError(verb, `USAGE: ${verb} NODE [flags]`);
  const down = apiUnavailable(ctx, `get nodes ${positional[0] ?? ''}`);
  if (down) return down;
  let stdout = '';
  let stderr = '';
  const want = verb === 'cordon';
  for (const name of positional) {
    const n = name.replace(/^(node|nodes|no)\//, '');
    const node = ctx.state.nodes.get(n);
    if (!node) {
      stderr += notFound('nodes', n);
      continue;
    }
    if (node.cordoned === want) stdout += `node/${n} already ${verb}ed\n`;
    else {
      node.cordoned = want;
      ctx.state.bump();
      stdout += `node/${n} ${verb}ed\n`;
    }
  }
  ctx.state.reconcile();
  return { stdout, stderr, code: stderr ? 1 : 0 };
}

const MSG_DAEMONSET = 'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)';
const MSG_UNMANAGED = 'cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use --force to override)';
const MSG_LOCAL = 'cannot delete Pods with local storage (use --delete-emptydir-data to override)';

function aggregate(errors: string[]): string {
  return errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`;
}

export async function drain(ctx: CommandContext, positional: string[], flags: Map<string, string>): Promise<CommandResult> {
  if (positional.length === 0) return usageError('drain', 'USAGE: drain NODE [flags]');
  const timeoutText = flags.get('timeout') ?? '0s';
  const timeoutMs = parseGoDuration(timeoutText);
  if (timeoutMs === undefined) return usageError('drain', `invalid argument "${timeoutText}" for "--timeout" flag: time: invalid duration "${timeoutText}"`);
  const down = apiUnavailable(ctx, `get nodes ${positional[0] ?? ''}`);
  if (down) return down;
  const name = (positional[0] ?? '').replace(/^(node|nodes|no)\//, '');
  const node = ctx.state.nodes.get(name);
  if (!node) return fail(1, notFound('nodes', name));
  let stdout = '';
  let stderr = '';
  if (node.cordoned) stdout += `node/${name} already cordoned\n`;
  else {
    node.cordoned = true;
    ctx.state.bump();
    stdout += `node/${name} cordoned\n`;
  }
  ctx.state.reconcile();
  const ignoreDs = flags.get('ignore-daemonsets') === 'true';
  const force = flags.get('force') === 'true';
  const emptyDir = flags.get('delete-emptydir-data') === 'true';
  const errs = { ds: [] as string[], unmanaged: [] as string[], local: [] as string[] };
  const warns = { ds: [] as string[], unmanaged: [] as string[], local: [] as string[] };
  const toEvict: SimPod[] = [];
  for (const pod of ctx.state.podsOn(name)) {
    const id = `${pod.namespace}/${pod.name}`;
    if (pod.mirror) continue;
    if (pod.owner?.kind === 'DaemonSet') {
      (ignoreDs ? warns.ds : errs.ds).push(id);
      continue;
    }
    if (!pod.owner) {
      if (!force) {
        errs.unmanaged.push(id);
        continue;
      }
      warns.unmanaged.push(id);
    }
    if (pod.emptyDir) {
      if (!emptyDir) {
        errs.local.push(id);
        continue;
      }
      warns.local.push(id);
    }
    toEvict.push(pod);
  }
  const errors: string[] = [];
  if (errs.ds.length) errors.push(`${MSG_DAEMONSET}: ${errs.ds.join(', ')}`);
  if (errs.unmanaged.length) errors.push(`${MSG_UNMANAGED}: ${errs.unmanaged.join(', ')}`);
  if (errs.local.length) errors.push(`${MSG_LOCAL}: ${errs.local.join(', ')}`);
  if (errors.length > 0) {
    const agg = aggregate(errors);
    stderr += `error: unable to drain node "${name}" due to error:${agg}, continuing command...\nThere are pending nodes to be drained:\n ${name}\n${agg}\n`;
    return { stdout, stderr, code: 1 };
  }
  const warnings: string[] = [];
  if (warns.ds.length) warnings.push(`ignoring DaemonSet-managed Pods: ${warns.ds.join(', ')}`);
  if (warns.unmanaged.length) warnings.push(`deleting Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet: ${warns.unmanaged.join(', ')}`);
  if (warns.local.length) warnings.push(`deleting Pods with local storage: ${warns.local.join(', ')}`);
  if (warnings.length > 0) stderr += `WARNING: ${warnings.join('; ')}\n`;
  for (const pod of toEvict) stdout += `evicting pod ${pod.namespace}/${pod.name}\n`;
  const budgeted = await evictWithBudgets(ctx, name, toEvict, timeoutMs);
  if (budgeted) return { stdout: stdout + budgeted.stdout, stderr: stderr + budgeted.stderr, code: budgeted.code };
  if (toEvict.length > 0) {
    if (timeoutMs > 0 && ctx.latency.drainMs > timeoutMs) {
      await ctx.sleep(timeoutMs);
      const agg = aggregate(toEvict.map((p) => `error when evicting pods/"${p.name}" -n "${p.namespace}": global timeout reached: ${formatGoDuration(timeoutMs)}`));
      stderr += `There are pending pods in node "${name}" when an error occurred: ${agg}\n${toEvict.map((p) => `pod/${p.name}\n`).join('')}`;
      stderr += `error: unable to drain node "${name}" due to error:${agg}, continuing command...\nThere are pending nodes to be drained:\n ${name}\n${agg}\n`;
      return { stdout, stderr, code: 1 };
    }
    await ctx.sleep(ctx.latency.drainMs);
    for (const pod of toEvict) {
      if (ctx.state.pods.includes(pod)) ctx.state.evict(pod);
      stdout += `pod/${pod.name} evicted\n`;
    }
  }
  ctx.state.reconcile();
  stdout += `node/${name} drained\n`;
  return { stdout, stderr, code: 0 };
}
