/** Errors about the request itself: RequestError lives with the other user-facing errors (src/errors/user-facing.ts). */
export { RequestError, type RequestErrorCode } from '../errors/user-facing.ts';

