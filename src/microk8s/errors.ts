/** Errors of the MicroK8s layer: unexpected output, values refused before anything runs, not-ready nodes. */

const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** Removes ANSI colour/cursor escapes (snapd and kubectl colour their output on a TTY). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, '');
}

function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    out += code < 32 || code === 127 ? '?' : ch;
  }
  return out;
}

/** A short, single-line, printable excerpt of some output, for error messages. */
export function excerpt(text: string, max = 160): string {
  const clean = printable(stripAnsi(text).replace(/\r/g, '').trim().replace(/\n+/g, ' ⏎ '));
  if (clean === '') return '(no output)';
  return clean.length > max ? `"${clean.slice(0, max)}…"` : `"${clean}"`;
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
    return new OutputParseError(command, expected, excerpt(output));
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
