/**
 * The compute controller's Prometheus series (history gauges, commands/responses, replica
 * connects, state sizes, peeks): defined once in `@mzts/controller-unified/state`
 * (`controller-metrics.ts`, shared with the unified cluster controller so dashboards do not change
 * with the `state` flag); this binds them to compute-client's `MetricsConflict`.
 */
import {
  type ControllerMetrics,
  bindHistoryMetrics as sharedBindHistoryMetrics,
  controllerMetrics as sharedControllerMetrics,
} from "@mzts/controller-unified/state";
import type { ComputeCommandHistory, ComputeHistoryMetrics } from "@mzts/protocol";
import type { Registry } from "prom-client";
import { MetricsConflict } from "./errors.js";

export {
  type ControllerMetrics,
  HISTORY_COMMAND_COUNT,
  HISTORY_DATAFLOW_COUNT,
  PEEK_DURATION_BUCKETS,
  type PeekResult,
} from "@mzts/controller-unified/state";

const conflict = (name: string, reason: string) => new MetricsConflict(name, reason);

/**
 * A sink writing one history's series, labelled with `labels`, into `registry` (every kind's
 * series at 0 first). @throws MetricsConflict (other label names, or names made elsewhere)
 */
export function bindHistoryMetrics(
  registry: Registry,
  labels: Readonly<Record<string, string>>,
): ComputeHistoryMetrics {
  return sharedBindHistoryMetrics(registry, labels, conflict);
}

/**
 * Mirrors `history`'s counts into the history gauges of `registry`, labelled with `labels`.
 * Returns the detach function, which removes the series. @throws MetricsConflict
 */
export function attachHistoryMetrics(
  history: ComputeCommandHistory,
  registry: Registry,
  labels: Readonly<Record<string, string>> = {},
): () => void {
  return history.attachMetrics(bindHistoryMetrics(registry, labels));
}

/** The controller metrics of `registry`, created on first use. @throws MetricsConflict */
export function controllerMetrics(registry: Registry): ControllerMetrics {
  return sharedControllerMetrics(registry, conflict);
}
