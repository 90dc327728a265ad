/**
 * What is kept of one output stream of a remote command: its first `max` bytes. A node can
 * print without end (a runaway loop, a hostile binary); the rest is read and dropped, so the
 * command still finishes, and the kept text ends with a note saying where it was cut — the note
 * is the last line, so it shows in the tail of a failed command's output too.
 */

/** Kept per stream (stdout, stderr) of one command. */
export const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export function truncationNote(bytes: number): string {
  return `[output truncated at ${bytes} bytes]`;
}

/** The note at the end of `text` when it was cut (see CappedOutput.text), else undefined. Scans the last line only. */
export function truncationOf(text: string): string | undefined {
  const start = text.lastIndexOf('\n[output truncated at ');
  if (start < 0 || !text.endsWith(' bytes]')) return undefined;
  const note = text.slice(start + 1);
  return note.includes('\n') ? undefined : note;
}

export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private seen = 0;

  constructor(readonly max: number = MAX_OUTPUT_BYTES) {}

  push(chunk: Buffer): void {
    this.seen += chunk.length;
    const room = this.max - this.kept;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  /** Bytes the stream sent in all, kept or not. */
  get bytes(): number {
    return this.seen;
  }

  get truncated(): boolean {
    return this.seen > this.max;
  }

  text(): string {
    const text = Buffer.concat(this.chunks, this.kept).toString('utf8');
    return this.truncated ? `${text}\n${truncationNote(this.max)}` : text;
  }
}
