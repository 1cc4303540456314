/**
 * Prometheus metrics of the storage controller that this package owns so far.
 *
 * - `mz_storage_controller_history_command_count{command_type}`: commands in the command
 *   history, per kind. The history *sets* every kind's value at the end of a reduction (never
 *   resets the gauge first), so a scrape never sees a transiently empty history (materialize.md
 *   §2.5), and increments the pushed kind between reductions.
 *
 * The metric names and labels are the same on the legacy and unified paths (style §18).
 */
import { STORAGE_COMMAND_KINDS, type StorageCommandKind } from "@mzts/protocol";
import { Gauge, type Registry } from "prom-client";

/** Where a command history reports its per-kind sizes. */
export interface HistoryCommandCounts {
  /** Sets the count of `commandType` commands. */
  set(commandType: StorageCommandKind, count: number): void;
  /** Adds one `commandType` command. */
  inc(commandType: StorageCommandKind): void;
}

/** The storage controller's metrics, registered in one registry. */
export interface StorageControllerMetrics {
  /** `mz_storage_controller_history_command_count{command_type}`. */
  readonly historyCommandCount: Gauge<"command_type">;
  /** The history gauge as a `HistoryCommandCounts` for `StorageCommandHistory`. */
  readonly historyCounts: HistoryCommandCounts;
}

/**
 * Registers the storage controller metrics in `registry`. Every kind's series exists from the
 * start (value 0), so dashboards and tests see `hello = 0` rather than a missing series.
 */
export function createStorageControllerMetrics(registry: Registry): StorageControllerMetrics {
  const historyCommandCount = new Gauge({
    name: "mz_storage_controller_history_command_count",
    help: "The number of commands in the storage controller's command history, by type.",
    labelNames: ["command_type"] as const,
    registers: [registry],
  });
  for (const kind of STORAGE_COMMAND_KINDS) historyCommandCount.set({ command_type: kind }, 0);
  return {
    historyCommandCount,
    historyCounts: {
      set: (commandType, count) => historyCommandCount.set({ command_type: commandType }, count),
      inc: (commandType) => historyCommandCount.inc({ command_type: commandType }),
    },
  };
}
