/**
 * Error classes of `@mzts/compute-client`: one root (`ControllerError`) and a narrow class per
 * failure (shared/style.md §9).
 *
 * - `DuplicateInstanceCommand`: a second `createInstance` pushed into one instance's history.
 * - `CompactionRegression`: an `allowCompaction` that moves an id's compaction frontier backward.
 * - `DuplicatePeek`: a `peek` whose uuid is already a live peek of the history.
 * - `MetricsConflict`: a history metric name already registered with a different shape.
 *
 * Every error carries structured fields and a message that says what to do next. Internal bugs are
 * not input errors: they throw `InvariantViolation` from `@mzts/repr`.
 */
import type { Frontier, GlobalId } from "@mzts/repr";

/** Root of every error thrown by `@mzts/compute-client`. */
export class ControllerError extends Error {
  override name = "ControllerError";
}

/**
 * A second `createInstance` was pushed into a command history. An instance is created exactly
 * once; its history keeps that single command and replays it to every replica.
 */
export class DuplicateInstanceCommand extends ControllerError {
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

/** An `allowCompaction` moves an id's compaction frontier backward. */
export class CompactionRegression extends ControllerError {
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
        `${fmt(current)} to ${fmt(proposed)}; send a frontier at or beyond the current one ` +
        "(read holds only advance, and nothing may follow a compaction to the empty frontier)",
    );
  }
}

/** A `peek` reuses the uuid of a peek that is still live in the history. */
export class DuplicatePeek extends ControllerError {
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

/** A history metric name is registered in the registry with another type or other labels. */
export class MetricsConflict extends ControllerError {
  override name = "MetricsConflict";
  constructor(
    /** The contested metric name. */
    readonly metricName: string,
    /** Why the registered metric cannot be reused. */
    readonly reason: string,
  ) {
    super(
      `metric ${metricName} cannot be reused: ${reason}; attach every history of one registry ` +
        "with the same label names, or use a separate prom-client Registry",
    );
  }
}

function fmt(f: Frontier): string {
  return f === null ? "[]" : `[${f}]`;
}
