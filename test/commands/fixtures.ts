import * as z from 'zod';
import { nodeInCluster, parseInventory, type Inventory } from '../../src/config/inventory.ts';
import type { VerbSpec } from '../../src/engine/runbook.ts';
import { builtinVerbs } from '../../src/commands/builtin-verbs.ts';
import { createRegistry } from '../../src/commands/registry.ts';
import { NodeName, SnapChannel } from '../../src/commands/validators.ts';

export const twoClusters: Inventory = parseInventory(
  `
clusters:
  prod:
    channel: C0PROD0001
    ssh: { user: ubuntu, privateKeyPath: ./id, knownHostsPath: ./known_hosts }
    nodes:
      - { name: k8s-1, host: 10.0.0.11, role: control-plane }
      - { name: k8s-2, host: 10.0.0.12, role: control-plane }
      - { name: k8s-3, host: 10.0.0.13, role: control-plane }
  staging:
    channel: C0STAGE001
    ssh: { user: ubuntu, agent: true, knownHostsPath: ./known_hosts }
    nodes:
      - { name: s-1, host: 10.1.0.11, role: control-plane }
`,
  '/tmp/inventory.yml',
);

export const oneCluster: Inventory = parseInventory(
  `
clusters:
  lab:
    channel: lab
    ssh: { user: ubuntu, agent: true, knownHostsPath: ./known_hosts }
    nodes:
      - { name: k8s-1, host: 127.0.0.1, port: 2201, role: control-plane }
`,
  '/tmp/inventory.yml',
);

const UpgradeArgs = z.object({
  node: NodeName,
  channel: SnapChannel,
  timeout: z.string().regex(/^\d+[smh]$/, 'expected a duration such as 90s').optional(),
  force: z.boolean().optional(),
});

/** A mutating verb as a runbook would declare it. */
const upgrade: VerbSpec<typeof UpgradeArgs> = {
  verb: 'upgrade',
  usage: 'upgrade <node> <channel>',
  example: 'upgrade k8s-1 1.23/stable',
  summary: 'upgrades one node to a snap channel (one minor at a time)',
  positional: ['node', 'channel'],
  flags: {
    timeout: { key: 'timeout', type: 'string', describe: 'drain timeout' },
    force: { key: 'force', type: 'boolean', describe: 'drain even with local data' },
  },
  args: UpgradeArgs,
  mutating: true,
  validate: (args, cluster) => nodeInCluster(cluster, args.node),
  plan: (args) => [{ title: `refresh ${args.node}`, node: args.node, commands: [`snap refresh microk8s --channel ${args.channel}`] }],
};
export const upgradeVerb: VerbSpec = upgrade;

export const registry = createRegistry([...builtinVerbs, upgradeVerb]);

/** A verb that does nothing: `verb` as its usage and example, no arguments, read-only, an empty plan; `extra` changes any of it. */
export const bareVerb = (verb: string, extra: Partial<VerbSpec> = {}): VerbSpec => ({
  verb,
  usage: verb,
  example: verb,
  summary: `does ${verb}`,
  positional: [],
  args: z.object({}),
  mutating: false,
  plan: () => [],
  ...extra,
});
