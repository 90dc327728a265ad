/**
 * Errors about the request itself: a bad verb, a bad argument, an unknown node.
 * The message is shown to the requester as is (ephemeral), so it says what was
 * wrong and what is allowed, and never echoes more than a short excerpt of the input.
 */

export type RequestErrorCode =
  | 'bad-input' // the tokenizer refused a character, a word or the length
  | 'unknown-verb'
  | 'usage' // wrong number of arguments, misplaced flag
  | 'unknown-flag'
  | 'bad-argument' // an argument failed its schema or the verb's validate()
  | 'cluster'; // unknown cluster, or none could be resolved

export class RequestError extends Error {
  override name = 'RequestError';
  readonly code: RequestErrorCode;

  constructor(message: string, code: RequestErrorCode = 'bad-argument') {
    super(message);
    this.code = code;
  }
}

