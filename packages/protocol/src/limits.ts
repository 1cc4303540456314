/**
 * Size limits of the controller↔replica streams and the environment API, and the one helper that
 * bounds strings copied into logs.
 *
 * ## Message limits (Connect `readMaxBytes` / `writeMaxBytes`, checked per message before decoding)
 * - `MAX_COMMAND_MESSAGE_BYTES` (64 MiB): one request message of a compute or storage stream.
 *   The largest legitimate one is the replay a controller writes at (re)connection: the reduced
 *   command history in one message. A dataflow plan encodes to a few KiB, so 64 MiB holds tens of
 *   thousands of dataflows — far beyond what one replica serves — while a hostile 512 MB message
 *   is refused before it is buffered whole.
 * - `MAX_RESPONSE_MESSAGE_BYTES` (256 MiB): one response message (peek results and subscribe
 *   batches are the large ones; `maxResultSize` bounds them below this when set).
 * - `MAX_API_MESSAGE_BYTES` (64 MiB): one request or response of the environment API.
 * No side accepts or sends compressed messages: the controllers never compress, and an accepted
 * gzip message inflates ~1000× (522 KB → 512 MB) before any limit on the compressed size helps.
 *
 * ## Logs
 * `truncateForLog` caps a string taken from a message (debug names, ids, error texts) at
 * `MAX_LOGGED_STRING_CHARS`, so a large field is not copied into every log line.
 */

const MiB = 1024 * 1024;

/** Largest request message (controller → replica) of a compute or storage stream. */
export const MAX_COMMAND_MESSAGE_BYTES = 64 * MiB;

/** Largest response message (replica → controller) of a compute or storage stream. */
export const MAX_RESPONSE_MESSAGE_BYTES = 256 * MiB;

/** Largest request or response message of the environment API. */
export const MAX_API_MESSAGE_BYTES = 64 * MiB;

/** Longest string copied from a message into a log line. */
export const MAX_LOGGED_STRING_CHARS = 256;

/** `s` cut to `max` characters with a marker naming the original length. */
export function truncateForLog(s: string, max: number = MAX_LOGGED_STRING_CHARS): string {
  if (s.length <= max) return s;
  return `${s.slice(0, max)}… (${s.length} chars, truncated)`;
}

/**
 * The Connect transport options of every controller's replica client (spread them into
 * `createGrpcTransport`): responses up to `MAX_RESPONSE_MESSAGE_BYTES`, requests up to
 * `MAX_COMMAND_MESSAGE_BYTES`, nothing compressed either way (a replica cannot gzip-bomb the
 * controller).
 */
export const CONTROLLER_CLIENT_TRANSPORT_OPTIONS: {
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
  readonly acceptCompression: never[];
} = {
  readMaxBytes: MAX_RESPONSE_MESSAGE_BYTES,
  writeMaxBytes: MAX_COMMAND_MESSAGE_BYTES,
  acceptCompression: [],
};
