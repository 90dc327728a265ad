import type * as z from 'zod';
import type { RunContext } from './context.ts';
import type { Json, VerbSpec } from './runbook.ts';

/** A runbook: a verb's spec plus the async function that carries it out. */
export interface Runbook<A extends z.ZodType = z.ZodType> {
  spec: VerbSpec<A>;
  run(run: RunContext, args: z.infer<A>): Promise<Json | void>;
  /**
   * Reads and describes the nodes' state when the job ends any way but success
   * ("k8s-1: v1.22.3 on 1.22/stable, cordoned"), so the thread says what was left.
   */
  describeState?(run: RunContext, args: z.infer<A>): Promise<string>;
}

export function defineRunbook<A extends z.ZodType>(
  spec: VerbSpec<A> & { mutating: true },
  run: Runbook<A>['run'],
  extras: Omit<Runbook<A>, 'spec' | 'run'> = {},
): Runbook<A> {
  return { spec, run, ...extras };
}
