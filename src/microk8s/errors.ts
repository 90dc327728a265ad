/** Errors of the MicroK8s layer: unexpected output, values refused before anything runs, not-ready nodes. */
import { excerpt as excerptOf } from '../util/excerpt.ts';

export { stripAnsi } from '../util/excerpt.ts';

/** A short, single-line, printable excerpt of some output, quoted, for error messages. */
export function outputExcerpt(text: string, max = 160): string {
  const clean = excerptOf(text, max + 1);
  return clean === '' ? '(no output)' : `"${clean}"`;
}

/** The output of a command was not what the parser expected. */
export class OutputParseError extends Error {
  override name = 'OutputParseError';
  constructor(
    /** The command whose output this was, e.g. `snap list microk8s`. */
    readonly command: string,
    /** What was expected, in words. */
    readonly expected: string,
    /** A short excerpt of what came instead. */
    readonly got: string,
    /** The node it ran on, when known. */
    readonly node?: string,
  ) {
    super(`cannot read the output of \`${command}\`${node ? ` on ${node}` : ''}: expected ${expected}; got ${got}`);
  }

  static of(command: string, expected: string, output: string): OutputParseError {
    return new OutputParseError(command, expected, outputExcerpt(output));
  }

  /** The same error, naming the node. */
  onNode(node: string): OutputParseError {
    return this.node ? this : new OutputParseError(this.command, this.expected, this.got, node);
  }
}

/** kubectl / status / add-node ran on a worker node, which answers with a notice instead. */
export class WorkerNodeError extends OutputParseError {
  override name = 'WorkerNodeError';
  constructor(command: string, node?: string) {
    super(command, 'a control-plane node', 'the notice "This MicroK8s deployment is acting as a node in a cluster" (a worker node)', node);
    this.message = `\`${command}\` cannot run on ${node ?? 'this node'}: it is a MicroK8s worker node; run it on a control-plane node`;
  }

  override onNode(node: string): OutputParseError {
    return this.node ? this : new WorkerNodeError(this.command, node);
  }
}

/** A value that would reach a command line is not valid; nothing was run. */
export class InvalidValueError extends Error {
  override name = 'InvalidValueError';
}

/** MicroK8s did not become ready in time (or is stopped). */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
  constructor(
    readonly node: string,
    message: string,
  ) {
    super(message);
  }
}

const WORKER_NOTICE = /This MicroK8s deployment is acting as a node in a cluster/;

/** Throws WorkerNodeError when the output is a worker node's refusal notice. */
export function rejectWorkerNotice(command: string, output: string): void {
  if (WORKER_NOTICE.test(output)) throw new WorkerNodeError(command);
}
