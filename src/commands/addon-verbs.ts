import * as z from 'zod';
import type { VerbSpec } from '../engine/runbook.ts';

/** `addons`: read-only, answered by the bot core (src/bot/addons-read-verb.ts). */
export const addonsVerb: VerbSpec = {
  verb: 'addons',
  usage: 'addons',
  example: 'addons --cluster prod',
  summary:
    "the cluster's enabled add-ons (repository, name, version) and its Calico CNI: the running calico-node image, what each node's revision ships, the deployed cni.yaml and its customisations, the no-manage-calico lock; says what is behind and what to do",
  positional: [],
  args: z.object({}),
  mutating: false,
  plan: () => [],
};

export const addonReadVerbs: VerbSpec[] = [addonsVerb];
