/**
 * Commands forwarded to worker threads as their wire bytes (issue 16: the replica's per-command
 * path). The replica's main thread decodes every framed command (validation at the edge: a
 * malformed one ends the stream), and for the hot ones read directly — a `peek` of the common
 * shape (`peek-reader.ts`) and an `allowCompaction` (`allow-compaction-reader.ts`) — it remembers
 * the frame (`forwardFrame`, by the decoded command's identity). A runtime that finds a frame
 * (`forwardedFrame`) posts the bytes to its workers instead of the decoded object: a structured
 * clone of a peek walks ~20 objects per worker, a copy of its ~100 bytes does not. Each worker
 * reads it back with `decodeForwardedCommand` (a peek straight into the domain value:
 * `forwarded-peek-reader.ts`).
 *
 * ## Rules
 * - Only frames the main thread decoded successfully are remembered, so a worker's read never
 *   meets invalid input; it repeats none of the validation and gives the **same value** the main
 *   thread's decode gave (`forwarded-commands.property.test.ts` checks it on generated commands).
 * - Codec-free (no protobuf-es, no generated schemas): worker threads import it through
 *   `@mzts/protocol/domain`, which must stay light (issue 16, rehydration).
 * - A frame that is not one of the two shapes is a bug of the sender (`undefined` returned; the
 *   caller treats it as fatal).
 * - A remembered frame is a **view** of the received bytes, not a copy: the runtime copies it when
 *   the command is submitted (`forwardRuns`), which `createRuntimeSessions` may defer to the end
 *   of the event-loop turn. That is safe because nothing writes those bytes meanwhile: Connect's
 *   envelope decoder copies the http2 chunks into a fresh `Uint8Array` per message, protobuf-es's
 *   `bytes` fields are views of that array, and no replica code writes a request's bytes. A
 *   caller of `computeRequestFromFrames` / `clusterRequestFromFrames` must not reuse its frames'
 *   buffers before the commands are submitted (mz-cluster `framed-requests.test.ts` pins this).
 */
import type { ComputeCommand } from "../compute/command.js";
import { allowCompactionAt } from "./allow-compaction-reader.js";
import { forwardedPeekAt } from "./forwarded-peek-reader.js";

const frames = new WeakMap<object, Uint8Array>();

/** Remembers `frame` as the wire bytes of `command` (decoded from it); returns `command`. */
export function forwardFrame<C extends object>(command: C, frame: Uint8Array): C {
  frames.set(command, frame);
  return command;
}

/**
 * The wire bytes of a command the main thread decoded from a frame that a worker can read with
 * `decodeForwardedCommand`, or `undefined` (the command travels as an object).
 */
export function forwardedFrame(command: object): Uint8Array | undefined {
  return frames.get(command);
}

/**
 * The command of a frame that `forwardedFrame` gave on the main thread (the same value its decode
 * gave there), or `undefined` when the frame is neither a directly read peek nor allowCompaction.
 * The frame is `bytes[at .. end)` (all of `bytes` by default): a worker reads a message's frames
 * in place, without a view per command.
 */
export function decodeForwardedCommand(
  bytes: Uint8Array,
  at = 0,
  end: number = bytes.length,
): ComputeCommand | undefined {
  const compaction = allowCompactionAt(bytes, at, end);
  if (compaction !== undefined) return compaction;
  const peek = forwardedPeekAt(bytes, at, end);
  return peek === undefined ? undefined : { kind: "peek", peek };
}
