/**
 * Errors of the MicroK8s layer: unexpected output, values refused before anything runs, not-ready
 * nodes. The classes live with the other user-facing errors (src/errors/user-facing.ts).
 */
import { WorkerNodeError } from '../errors/user-facing.ts';

export { CheckFailedError, InvalidValueError, NotReadyError, OutputParseError, WorkerNodeError } from '../errors/user-facing.ts';
export { outputExcerpt, stripAnsi } from '../util/excerpt.ts';

const WORKER_NOTICE = /This MicroK8s deployment is acting as a node in a cluster/;

/** Throws WorkerNodeError when the output is a worker node's refusal notice. */
export function rejectWorkerNotice(command: string, output: string): void {
  if (WORKER_NOTICE.test(output)) throw new WorkerNodeError(command);
}
