/**
 * Error classes of `@mzts/protocol`: one root (`ProtocolError`) and a narrow class per failure.
 *
 * - `MalformedCommand` / `MalformedResponse`: a wire message that does not decode into a valid
 *   domain value (missing oneof case, unset required field, bad id, frontier with two elements,
 *   row batch that does not decode, plan that fails `validatePlan`, …). They name the protocol,
 *   the message kind and the field path (protobuf JSON names, e.g.
 *   `createDataflow.dataflow.objectsToBuild[0].plan.map.input`). A replica answers a malformed
 *   command by ending the stream with `InvalidArgument` (class-1 protocol violation).
 * - `StaleGeneration`: a generation older than one already seen — a replica refusing a hello, the
 *   catalog a write, the orchestrator a replica spec (one class for both sides; `Aborted`).
 *   `ProtocolVersionMismatch`: a hello whose protocol version differs (`FailedPrecondition`).
 *   Both name the two values compared.
 *   `HelloMismatch`: the two sub-protocol hellos of one unified stream disagree.
 *
 * - `CommandHistoryError` and its subclasses `DuplicateInstanceCommand`, `CompactionRegression`,
 *   `DuplicatePeek`: a command that a controller's command history (`compute/command-history.ts`,
 *   `storage/command-history.ts`) refuses to push, because replaying the history would no longer
 *   reproduce what the replicas saw live.
 *
 * Every message says what to do next.
 */

import type { Frontier, GlobalId } from "@mzts/repr";

/**
 * The fields of a hello that `HelloMismatch` reports (structurally a `Hello`; declared here so
 * that this module imports nothing of the package — no type-only back edge to `cluster/hello.ts`).
 */
export interface HelloFields {
  readonly nonce: string;
  readonly generation: bigint;
  readonly protocolVersion: number;
  readonly buildVersion: string;
}

/** Which stream a message belongs to. */
export type ProtocolName = "compute" | "storage" | "cluster";

/** The kind as it reads in a message: " createDataflow", or " (kind unknown)" when not decoded. */
function kindText(kind: string): string {
  return kind === "unknown" ? " (kind unknown)" : ` ${kind}`;
}

/** Root of every error thrown by `@mzts/protocol`. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** A command that does not decode into a valid domain command; it must not be applied. */
export class MalformedCommand extends ProtocolError {
  override name = "MalformedCommand";
  constructor(
    /** The stream the command arrived on. */
    readonly protocol: ProtocolName,
    /** The command kind (the oneof case, e.g. "createDataflow"), or "unknown" when unset. */
    readonly kind: string,
    /** Path of the offending field from the command root (protobuf JSON names). */
    readonly path: string,
    /** What is wrong with it. */
    readonly reason: string,
  ) {
    super(
      `malformed ${protocol} command${kindText(kind)} at ${path || "(root)"}: ${reason}; ` +
        "the command was not applied — fix the sender (controller) to produce a valid command",
    );
  }
}

/** A response that does not decode into a valid domain response; it must be discarded. */
export class MalformedResponse extends ProtocolError {
  override name = "MalformedResponse";
  constructor(
    /** The stream the response arrived on. */
    readonly protocol: ProtocolName,
    /** The response kind (the oneof case, e.g. "peekResponse"), or "unknown" when unset. */
    readonly kind: string,
    /** Path of the offending field from the response root (protobuf JSON names). */
    readonly path: string,
    /** What is wrong with it. */
    readonly reason: string,
  ) {
    super(
      `malformed ${protocol} response${kindText(kind)} at ${path || "(root)"}: ${reason}; ` +
        "the response was discarded — the replica is buggy or of another protocol version, rehydrate it",
    );
  }
}

/** Who refused a stale generation. */
export type GenerationAuthority = "replica" | "catalog" | "orchestrator";

/**
 * An environment generation older than one the refusing side has already seen: the environmentd
 * that carries it is fenced. The one fencing error of both sides (replica and controller): a
 * replica refuses a hello (`StaleGeneration.hello`), the catalog a write
 * (`StaleGeneration.catalog`), the orchestrator a replica spec (`StaleGeneration.orchestrator`).
 * On the wire it is `Aborted`.
 */
export class StaleGeneration extends ProtocolError {
  override name = "StaleGeneration";
  constructor(
    /** The (older) generation that was offered. */
    readonly generation: bigint,
    /** The newest generation the refusing side has seen. */
    readonly currentGeneration: bigint,
    /** Who refused it. */
    readonly refusedBy: GenerationAuthority,
    /** What was refused: the catalog operation or the replica id; empty for a hello. */
    readonly subject: string,
    message: string,
  ) {
    super(message);
  }

  /** A replica refuses a hello of generation `offered` after serving `highest`. */
  static hello(offered: bigint, highest: bigint): StaleGeneration {
    return new StaleGeneration(
      offered,
      highest,
      "replica",
      "",
      `hello of generation ${offered} refused: this replica has accepted a hello of generation ` +
        `${highest} and serves no older generation; compare the catalog's generation: if it is ` +
        `${highest} or more, this environmentd was fenced by a newer boot and must shut down; if ` +
        "it is lower, some other process sent that hello — restart the replica and check who " +
        "can reach its ports and that replica authentication is on",
    );
  }

  /** The catalog refuses `operation` of `generation`; it is at `current`. Nothing was written. */
  static catalog(generation: bigint, current: bigint, operation: string): StaleGeneration {
    return new StaleGeneration(
      generation,
      current,
      "catalog",
      operation,
      `${operation} refused: this environmentd runs generation ${generation} but the catalog is ` +
        `at generation ${current}; this environmentd was fenced by a newer one and ` +
        "must exit (nothing was written)",
    );
  }

  /** The orchestrator refuses a spec of `generation` for a replica claimed by `current`. */
  static orchestrator(replicaId: string, generation: bigint, current: bigint): StaleGeneration {
    return new StaleGeneration(
      generation,
      current,
      "orchestrator",
      replicaId,
      `replica ${replicaId} was claimed by generation ${current}; generation ` +
        `${generation} is fenced out — this environmentd is stale and must shut down`,
    );
  }
}

/** A hello whose protocol version differs from the receiver's. */
export class ProtocolVersionMismatch extends ProtocolError {
  override name = "ProtocolVersionMismatch";
  constructor(
    /** The protocol version the hello carried. */
    readonly offered: number,
    /** The receiver's protocol version. */
    readonly expected: number,
    /** The sender's build version, for the log. */
    readonly buildVersion: string,
  ) {
    super(
      `hello with protocol version ${offered} (build ${buildVersion}) refused: this side speaks ` +
        `protocol version ${expected}; run controller and replica from compatible builds`,
    );
  }
}

/** The compute and storage hellos of one unified cluster stream disagree. */
export class HelloMismatch extends ProtocolError {
  override name = "HelloMismatch";
  constructor(
    readonly compute: HelloFields,
    readonly storage: HelloFields,
  ) {
    super(
      `the compute hello (nonce ${compute.nonce}, generation ${compute.generation}, protocol ` +
        `${compute.protocolVersion}, build ${compute.buildVersion}) and the storage hello (nonce ` +
        `${storage.nonce}, generation ${storage.generation}, protocol ${storage.protocolVersion}, ` +
        `build ${storage.buildVersion}) of one cluster stream disagree; send both sub-protocol ` +
        "hellos from the same connection attempt",
    );
  }
}

/** Root of the errors a command history's `push` throws (a controller bug or a bad caller). */
export class CommandHistoryError extends ProtocolError {
  override name = "CommandHistoryError";
}

/**
 * A second `createInstance` was pushed into a compute command history. An instance is created
 * exactly once; its history keeps that single command and replays it to every replica.
 */
export class DuplicateInstanceCommand extends CommandHistoryError {
  override name = "DuplicateInstanceCommand";
  constructor(
    /** The rejected command kind (always `createInstance` today). */
    readonly commandKind: string,
  ) {
    super(
      `${commandKind} was already pushed into this compute command history; an instance is ` +
        "created once — to change its configuration use updateConfiguration, or drop the " +
        "instance and build a new controller instance (with a fresh history)",
    );
  }
}

/** An `allowCompaction` moves an id's compaction frontier backward (compute or storage). */
export class CompactionRegression extends CommandHistoryError {
  override name = "CompactionRegression";
  constructor(
    /** The collection whose compaction frontier would regress. */
    readonly id: GlobalId,
    /** The frontier of the last `allowCompaction` for `id`. */
    readonly current: Frontier,
    /** The rejected, earlier frontier. */
    readonly proposed: Frontier,
  ) {
    super(
      `allowCompaction for ${id} cannot move its compaction frontier back from ` +
        `${fmtFrontier(current)} to ${fmtFrontier(proposed)}; send a frontier at or beyond the ` +
        "current one (read holds only advance, and nothing may follow a compaction to the empty " +
        "frontier)",
    );
  }
}

/** A `peek` whose uuid is already a live peek of a compute command history. */
export class DuplicatePeek extends CommandHistoryError {
  override name = "DuplicatePeek";
  constructor(
    /** The reused peek uuid. */
    readonly uuid: string,
  ) {
    super(
      `peek ${uuid} is already live in this compute command history; peek uuids must be unique ` +
        "per protocol iteration — draw a fresh uuid (crypto.randomUUID()) for every peek",
    );
  }
}

/** `[t]` for a time, `[]` for the empty frontier (as Materialize prints antichains). */
function fmtFrontier(f: Frontier): string {
  return f === null ? "[]" : `[${f}]`;
}

/**
 * A field-level decode failure, thrown by the shared decoders and converted by each top-level
 * `fromProto` into `MalformedCommand`/`MalformedResponse` (which add protocol and kind).
 * @internal
 */
export class FieldError extends ProtocolError {
  override name = "FieldError";
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}
