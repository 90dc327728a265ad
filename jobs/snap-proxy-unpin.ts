import * as z from 'zod';
import { ProxyChannel, snapProxyConfigured } from '../src/commands/ops-verbs.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { describeOverrides, overrideFor, unpinChannel } from '../src/ops/snap-proxy.ts';

/**
 * Unpin a channel on the Snap Store Proxy — the seed's "Control upgrades" step 5
 * (`sudo snap-proxy delete-override microk8s <channel>`): the channel follows upstream again.
 */
export default defineRunbook(
  {
    verb: 'snap-proxy unpin',
    usage: 'snap-proxy unpin <channel>',
    example: 'snap-proxy unpin 1.23/stable',
    summary: 'Remove the pin of a MicroK8s channel on the Snap Store Proxy (snap-proxy delete-override): it follows upstream again',
    positional: ['channel'],
    args: z.object({ channel: ProxyChannel }),
    mutating: true,
    validate: (_args, cluster) => snapProxyConfigured(cluster),
    plan: ({ channel }) => [
      { title: 'read the overrides on the Snap Store Proxy', node: 'snap-proxy', commands: ['sudo snap-proxy list-overrides microk8s'] },
      { title: `unpin ${channel} on the Snap Store Proxy`, node: 'snap-proxy', commands: [`sudo snap-proxy delete-override microk8s ${channel}`, 'sudo snap-proxy list-overrides microk8s'] },
    ],
  },
  async (run, { channel }) => {
    const before = await run.step('read the overrides on the Snap Store Proxy', () => run.snapProxy().listOverrides(), { describe: describeOverrides });
    const current = overrideFor(before, channel);
    if (!current) {
      await run.say(`${channel} is not pinned on the proxy; it already follows upstream. Nothing to do.`);
      return;
    }
    await run.approvePlan({
      title: `Unpin microk8s ${channel} on the Snap Store Proxy`,
      what: `${channel} is pinned to revision ${current.revision}${current.upstream ? `; upstream serves ${current.upstream}` : ''}. Once unpinned, nodes that use the proxy get the upstream revision on their next refresh, auto-refresh included.`,
      nodes: ['snap-proxy'],
    });
    await run.step(`unpin ${channel} on the Snap Store Proxy`, () => unpinChannel(run, channel), {
      describe: (r) => (r.changed ? `was ${r.was ?? '?'}; follows upstream${r.upstream ? ` (revision ${r.upstream})` : ''}` : 'was not pinned'),
    });
  },
  {
    describeState: async (run) => `Snap Store Proxy: ${describeOverrides(await run.snapProxy().listOverrides())}`,
  },
);
