import * as z from 'zod';
import { ProxyPin, snapProxyConfigured, splitPin } from '../src/commands/ops-verbs.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { checkPinFromNode, describeOverrides, overrideFor, pinChannel, pinPlanStep } from '../src/ops/snap-proxy.ts';

function parts(pin: string): { channel: string; revision: string } {
  const p = splitPin(pin);
  if (typeof p === 'string') throw new Error(p); // the schema refused it already
  return p;
}

/**
 * Pin a channel to a revision on the Snap Store Proxy — the seed's "Control upgrades" step 2
 * (`sudo snap-proxy override microk8s <channel>=<revision>`): nodes pointed at the proxy get that
 * revision from the channel, by hand or by auto-refresh, until it is unpinned.
 */
export default defineRunbook(
  {
    verb: 'snap-proxy pin',
    usage: 'snap-proxy pin <channel>=<revision>',
    example: 'snap-proxy pin 1.23/stable=2948',
    summary: 'Pin a MicroK8s channel to a snap revision on the Snap Store Proxy (snap-proxy override)',
    positional: ['pin'],
    args: z.object({ pin: ProxyPin }),
    mutating: true,
    validate: (_args, cluster) => snapProxyConfigured(cluster),
    plan: ({ pin }) => {
      const { channel, revision } = parts(pin);
      return [
        { title: 'read the overrides on the Snap Store Proxy', node: 'snap-proxy', commands: ['sudo snap-proxy list-overrides microk8s'] },
        pinPlanStep(channel, revision),
        { title: 'check the pin from a node that uses the proxy', commands: ['sudo snap-proxy status', 'snap get core proxy.store (each node, until one uses the proxy)', 'snap info microk8s'] },
      ];
    },
  },
  async (run, { pin }) => {
    const { channel, revision } = parts(pin);
    const before = await run.step('read the overrides on the Snap Store Proxy', () => run.snapProxy().listOverrides(), { describe: describeOverrides });
    const current = overrideFor(before, channel);
    if (current?.revision === revision) {
      await run.say(`${channel} is already pinned to revision ${revision} on the proxy; nothing to do.`);
      return;
    }
    await run.approvePlan({
      title: `Pin microk8s ${channel} to revision ${revision} on the Snap Store Proxy`,
      what:
        `Nodes that use the proxy will get revision ${revision} from ${channel} (by \`snap refresh\` or auto-refresh) instead of ` +
        `${current ? `revision ${current.revision}, pinned now` : 'what the channel serves upstream'}. The proxy does not check that the revision belongs to the channel's track.`,
      nodes: ['snap-proxy'],
    });
    await run.step(`pin ${channel} to revision ${revision} on the Snap Store Proxy`, () => pinChannel(run, channel, revision), {
      describe: (r) => (r.changed ? `pinned${r.previous ? ` (was ${r.previous})` : ''}${r.upstream ? `; upstream serves ${r.upstream}` : ''}` : 'already pinned'),
    });
    await run.step(`check the pin from a node that uses the proxy`, () => checkPinFromNode(run, channel, revision), {
      describe: (c) => (c.node ? `snap info microk8s on ${c.node}: ${channel} → ${c.revision}` : 'no node uses the proxy yet: the pin applies to nodes once they do (`snap-proxy connect <node>`)'),
    });
  },
  {
    describeState: async (run) => `Snap Store Proxy: ${describeOverrides(await run.snapProxy().listOverrides())}`,
  },
);
