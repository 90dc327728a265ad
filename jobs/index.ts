import type { Runbook } from '../src/engine/define.ts';
import rollbackNode from './rollback-node.ts';
import upgradeNode from './upgrade-node.ts';

/** Every runbook, by verb. A new runbook is a new file here and one line below. */
export const runbooks: readonly Runbook[] = [upgradeNode, rollbackNode] as Runbook[];

export function runbookMap(): Map<string, Runbook> {
  return new Map(runbooks.map((r) => [r.spec.verb, r]));
}
