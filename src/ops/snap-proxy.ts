/**
 * The seed's "Control upgrades" with a Snap Store Proxy, as steps a runbook can call: pin a
 * channel to a revision (`snap-proxy override`), unpin it (`delete-override`), and point a node's
 * snapd at the proxy (the store assertion, `proxy.store`). Every helper reads first and is safe
 * to run again after a crash.
 */
import type { RunContext } from '../engine/context.ts';
import { RunbookFailure } from '../engine/errors.ts';
import type { PlanStep } from '../engine/runbook.ts';
import { proxyChannelKey, sameProxyChannel, type ProxyOverride } from '../microk8s/parse-snap-proxy.ts';

export type PinResult = {
  channel: string;
  revision: string;
  /** The revision it was pinned to before, if any. */
  previous: string | null;
  /** What the channel serves upstream, as the proxy reported it. */
  upstream: string | null;
  /** false: it was already pinned to this revision (nothing was run). */
  changed: boolean;
};

export type UnpinResult = {
  channel: string;
  /** The revision it had been pinned to; null when it was not pinned. */
  was: string | null;
  /** What it serves again, when the proxy said. */
  upstream: string | null;
  changed: boolean;
};

export function overrideFor(overrides: ProxyOverride[], channel: string): ProxyOverride | undefined {
  return overrides.find((o) => sameProxyChannel(o.channel, channel));
}

/** One line per override: `1.23/stable → 2906 (upstream 2948)`. */
export function describeOverrides(overrides: ProxyOverride[]): string {
  if (overrides.length === 0) return 'no overrides: every channel follows upstream';
  return overrides.map((o) => `${o.channel} → ${o.revision}${o.arch === 'amd64' ? '' : ` (${o.arch})`}${o.upstream ? ` (upstream ${o.upstream})` : ''}`).join(', ');
}

/**
 * Pins `channel` of microk8s to `revision` on the cluster's Snap Store Proxy, then reads the
 * overrides back to confirm. Nothing is run when it is already pinned there.
 */
export async function pinChannel(run: RunContext, channel: string, revision: string): Promise<PinResult> {
  const proxy = run.snapProxy();
  const before = overrideFor(await proxy.listOverrides(), channel);
  if (before?.revision === revision) {
    return { channel, revision, previous: revision, upstream: before.upstream, changed: false };
  }
  await proxy.override(channel, revision);
  const after = overrideFor(await proxy.listOverrides(), channel);
  if (after?.revision !== revision) {
    throw new RunbookFailure(
      `The proxy accepted the override of ${channel} to revision ${revision}, but \`snap-proxy list-overrides microk8s\` shows ${after ? `revision ${after.revision}` : 'no override'} for it. Check the proxy (\`sudo snap-proxy list-overrides microk8s\`).`,
    );
  }
  return { channel, revision, previous: before?.revision ?? null, upstream: after.upstream, changed: true };
}

/** Deletes the override of `channel` so it follows upstream again; nothing is run when there is none. */
export async function unpinChannel(run: RunContext, channel: string): Promise<UnpinResult> {
  const proxy = run.snapProxy();
  const before = overrideFor(await proxy.listOverrides(), channel);
  if (!before) return { channel, was: null, upstream: null, changed: false };
  const reset = await proxy.deleteOverride(channel);
  const after = overrideFor(await proxy.listOverrides(), channel);
  if (after) {
    throw new RunbookFailure(`\`snap-proxy delete-override microk8s ${channel}\` ran, but the proxy still pins it to revision ${after.revision}. Check the proxy.`);
  }
  const upstream = reset.find((r) => sameProxyChannel(r.channel, channel))?.upstream ?? null;
  return { channel, was: before.revision, upstream, changed: true };
}

export type ProxyIdentity = {
  storeId: string;
  status: string;
  domain: string;
};

/** The store id and domain nodes are pointed at (`snap-proxy status`, `snap-proxy config proxy.domain`). */
export async function readProxyIdentity(run: RunContext): Promise<ProxyIdentity> {
  const proxy = run.snapProxy();
  const status = await proxy.status();
  const domain = await proxy.domain();
  return { storeId: status.storeId, status: status.status, domain };
}

/** `snap get core proxy.store` on a node (undefined when it uses the public store). */
export function nodeProxyStore(run: RunContext, node: string): Promise<string | undefined> {
  return run.node(node).proxyStore();
}

/**
 * The seed's "Connect to the proxy" on one node: fetch the store assertion from the proxy and
 * `snap ack` it, then `snap set core proxy.store=<id>`. Skipped when the node already uses it.
 */
export async function connectNode(run: RunContext, node: string, proxy: ProxyIdentity): Promise<{ assertionBytes: number; skipped: boolean }> {
  const ops = run.node(node);
  if ((await ops.proxyStore()) === proxy.storeId) return { assertionBytes: 0, skipped: true };
  const { bytes } = await ops.ackStoreAssertions(proxy.domain);
  await ops.setProxyStore(proxy.storeId);
  return { assertionBytes: bytes, skipped: false };
}

/** `stable` → `latest/stable`: the name `snap info` gives a channel. */
function snapInfoName(channel: string): string {
  return channel.includes('/') ? channel : `latest/${channel}`;
}

export type PinCheck = {
  /** The node that was asked, or null when no node uses the proxy. */
  node: string | null;
  /** What `snap info microk8s` on it shows for the channel. */
  revision: string | null;
};

/**
 * The seed's "Control upgrades" step 3: from a node that uses the proxy, `snap info microk8s`
 * must show the pinned revision on the channel. A node that cannot be read is skipped; none
 * using the proxy is not an error (the pin applies once nodes are connected).
 */
export async function checkPinFromNode(run: RunContext, channel: string, revision: string): Promise<PinCheck> {
  const { storeId } = await run.snapProxy().status();
  for (const n of run.cluster.nodes) {
    let store: string | undefined;
    try {
      store = await nodeProxyStore(run, n.name);
    } catch {
      continue; // unreachable: try the next one
    }
    if (store !== storeId) continue;
    const shown = (await run.node(n.name).snapInfo()).channels[snapInfoName(channel)]?.revision ?? null;
    if (shown !== revision) {
      throw new RunbookFailure(
        `The proxy pins ${channel} to revision ${revision}, but \`snap info microk8s\` on ${n.name} (which uses the proxy) shows ${shown ?? 'no revision'} for it. The pin is in place on the proxy; check the node's store settings.`,
      );
    }
    return { node: n.name, revision: shown };
  }
  return { node: null, revision: null };
}

export type RolloutPin = {
  channel: string;
  revision: string;
  previous: string | null;
  upstream: string | null;
  changed: boolean;
  /** Nodes whose snapd does not use the proxy: the pin does not hold them. */
  notUsing: string[];
};

/**
 * `upgrade-cluster --pin <revision>`: pins the target channel before the first node, so an
 * auto-refresh on a node that uses the proxy cannot move it past that revision mid-rollout, and
 * names the nodes the pin does not hold (they do not use the proxy, or could not be read).
 */
export async function pinForRollout(run: RunContext, channel: string, revision: string, nodes: readonly string[]): Promise<RolloutPin> {
  const pin = await pinChannel(run, channel, revision);
  const { storeId } = await run.snapProxy().status();
  const notUsing: string[] = [];
  for (const node of nodes) {
    const store = await nodeProxyStore(run, node).catch(() => undefined);
    if (store !== storeId) notUsing.push(node);
  }
  return { ...pin, notUsing };
}

/** The thread line of a rollout pin. */
export function describeRolloutPin(r: RolloutPin): string {
  const base = r.changed ? `${r.channel} pinned to ${r.revision}${r.previous ? ` (was ${r.previous})` : ''}` : `${r.channel} already pinned to ${r.revision}`;
  return r.notUsing.length > 0 ? `${base}; ⚠️ not held by the pin (they do not use the proxy): ${r.notUsing.join(', ')}` : `${base}; every node uses the proxy`;
}

/** The plan line of a pin (also used by `upgrade-cluster --pin`). */
export function pinPlanStep(channel: string, revision: string): PlanStep {
  return {
    title: `pin ${channel} to revision ${revision} on the Snap Store Proxy`,
    node: 'snap-proxy',
    commands: ['sudo snap-proxy list-overrides microk8s', `sudo snap-proxy override microk8s ${channel}=${revision}`, 'sudo snap-proxy list-overrides microk8s'],
  };
}

/** `stable` for `latest/stable`: how the proxy names a channel. */
export { proxyChannelKey };
