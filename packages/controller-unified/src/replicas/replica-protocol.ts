/**
 * What a workload tells the unified replica task about its protocol (design §9 phase 3): the
 * Connect service whose bidi `Control` stream carries it, how a batch of commands becomes one
 * request message and a response message becomes responses, and how its `hello` command is built
 * and recognised. compute-client and storage-client each provide one (their
 * `src/replica-protocol.ts`); the task itself (`replica-task.ts`) is the same for both.
 *
 * ## What stays in the workload, not here
 * - History reduction: the instance's `replay()` returns the reduced history (`@mzts/protocol`'s
 *   `ComputeCommandHistory` / `StorageCommandHistory`, storage filtered by ingestion placement).
 * - What responses mean (frontiers, peeks, statuses) and hydration ordering: the instance.
 *
 * ## Contract
 * - `encode` gets at least one command; it may throw (a command the wire cannot carry), which
 *   fails the incarnation like any stream error.
 * - `decode` may throw on a malformed message (`MalformedCommand` of `@mzts/protocol`); that too
 *   fails the incarnation.
 * - `hello(h)` is the workload's hello command carrying `h`; `isHello(c)` recognises it. The task
 *   sends exactly one hello per stream, first, fresh (new nonce, the connection's generation,
 *   signed for `stream` when there is a replica secret); hellos in the replay are dropped.
 */

import type { Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import type { Hello, HelloStream } from "@mzts/protocol";

/** A Connect service with one bidi-streaming `control` method: `Req` stream in, `Res` stream out. */
export type ControlService<Req extends Message, Res extends Message> = GenService<{
  control: { methodKind: "bidi_streaming"; input: GenMessage<Req>; output: GenMessage<Res> };
}>;

/** One workload's protocol, as the unified replica task needs it (see the file comment). */
export interface ReplicaProtocol<
  C,
  R,
  Req extends Message = Message,
  Res extends Message = Message,
> {
  /** The workload: names logs and is the stream a hello's proof is bound to. */
  readonly stream: HelloStream;
  /** The service serving the workload's `Control` stream on the replica. */
  readonly service: ControlService<Req, Res>;
  /** One request message for a non-empty batch of commands, in order. */
  encode(commands: readonly C[]): Req;
  /**
   * The responses of one response message, in order; a protocol with peeks may leave out the
   * answers `awaitsPeek` rejects (the connection's `awaitsPeek`), undecoded.
   * @throws on a malformed message
   */
  decode(message: Res, awaitsPeek?: (uuid: string) => boolean): R[];
  /** The workload's hello command carrying `hello`. */
  hello(hello: Hello): C;
  /** Whether `command` is a hello (dropped from replays: the task sends its own). */
  isHello(command: C): boolean;
}
