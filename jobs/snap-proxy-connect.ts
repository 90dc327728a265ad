import * as z from 'zod';
import { snapProxyConfigured } from '../src/commands/ops-verbs.ts';
import { NodeName } from '../src/commands/validators.ts';
import { nodeInCluster } from '../src/config/inventory.ts';
import { defineRunbook } from '../src/engine/define.ts';
import { RunbookFailure } from '../src/engine/errors.ts';
import { connectNode, nodeProxyStore, readProxyIdentity } from '../src/ops/snap-proxy.ts';

/**
 * Point a node's snapd at the Snap Store Proxy — the seed's "Connect to the proxy":
 * `curl http://<proxy>/v2/auth/store/assertions | sudo snap ack /dev/stdin` (here: fetched to a
 * temporary file on the node, then `snap ack <file>`) and `sudo snap set core proxy.store=<id>`,
 * with the store id from `snap-proxy status`; checked with `snap get core proxy.store`.
 */
export default defineRunbook(
  {
    verb: 'snap-proxy connect',
    usage: 'snap-proxy connect <node>',
    example: 'snap-proxy connect k8s-1',
    summary: "Point a node's snapd at the Snap Store Proxy (snap ack of its store assertion, snap set core proxy.store) so the proxy's pins apply to it",
    positional: ['node'],
    args: z.object({ node: NodeName }),
    mutating: true,
    validate: ({ node }, cluster) => snapProxyConfigured(cluster) ?? nodeInCluster(cluster, node),
    plan: ({ node }) => [
      { title: 'read the Snap Store Proxy', node: 'snap-proxy', commands: ['sudo snap-proxy status', 'sudo snap-proxy config proxy.domain'] },
      { title: `read the store ${node} uses`, node, commands: ['snap get core proxy.store'] },
      {
        title: `point ${node} at the Snap Store Proxy`,
        node,
        commands: ['mktemp', 'curl -sSfL -o <tmp> http://<proxy.domain>/v2/auth/store/assertions', 'sudo snap ack <tmp>', 'rm -f <tmp>', 'sudo snap set core proxy.store=<store id>'],
      },
      { title: `check ${node} uses the Snap Store Proxy`, node, commands: ['snap get core proxy.store'] },
    ],
  },
  async (run, { node }) => {
    const proxy = await run.step('read the Snap Store Proxy', () => readProxyIdentity(run), {
      describe: (p) => `store ${p.storeId} at http://${p.domain} (registration: ${p.status})`,
    });
    const current = await run.step(`read the store ${node} uses`, async () => (await nodeProxyStore(run, node)) ?? null, {
      describe: (s) => (s === null ? 'the public Snap Store' : s === proxy.storeId ? 'already this proxy' : `another store (${s})`),
    });
    if (current === proxy.storeId) {
      await run.say(`${node} already uses the Snap Store Proxy (store ${proxy.storeId}); nothing to do.`);
      return;
    }
    await run.approvePlan({
      title: `Point ${node} at the Snap Store Proxy`,
      what:
        `${node} will take MicroK8s (and every other snap) from the proxy at http://${proxy.domain} (store ${proxy.storeId}) instead of ${current === null ? 'the public Snap Store' : `store ${current}`}, ` +
        `so the proxy's pins decide which revision a refresh or auto-refresh installs.${proxy.status === 'approved' ? '' : ` ⚠️ The proxy's registration status is "${proxy.status}".`}`,
      nodes: [node],
    });
    await run.step(`point ${node} at the Snap Store Proxy`, () => connectNode(run, node, proxy), {
      describe: (r) => (r.skipped ? 'already pointed at it' : `store assertion acknowledged (${r.assertionBytes} bytes), proxy.store set`),
    });
    await run.step(`check ${node} uses the Snap Store Proxy`, async () => {
      const now = await nodeProxyStore(run, node);
      if (now !== proxy.storeId) {
        throw new RunbookFailure(`${node} reports proxy.store = ${now ?? '(unset)'} after the change, not ${proxy.storeId}. Check it with \`snap get core proxy.store\` on the node.`);
      }
      return now;
    }, { describe: (s) => `proxy.store = ${s}` });
  },
  {
    describeState: async (run, { node }) => `${node}: proxy.store = ${(await nodeProxyStore(run, node)) ?? '(unset: the public Snap Store)'}`,
  },
);
