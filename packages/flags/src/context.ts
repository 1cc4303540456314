/**
 * The LaunchDarkly evaluation context of a cluster: a multi-kind context with a `cluster`
 * context (key = cluster id) and an `environment` context (key = environment id).
 *
 * With this shape a phase can be targeted at chosen clusters (individual targets or rules on
 * context kind `cluster`), at whole environments (kind `environment`), or rolled out to a
 * percentage of clusters (a rollout bucketed by context kind `cluster`: deterministic per cluster
 * id, flag key and salt, so a cluster stays in or out of the rollout across restarts).
 */
import type { LDContext } from "@launchdarkly/node-server-sdk";
import { InvalidClusterId, InvalidFlagsConfig } from "./errors.js";

/** Context kind of a cluster. */
export const CLUSTER_CONTEXT_KIND = "cluster";
/** Context kind of an environment. */
export const ENVIRONMENT_CONTEXT_KIND = "environment";

/**
 * The multi-kind context for evaluating a cluster's phase flags.
 *
 * @throws InvalidClusterId when `clusterId` is not a non-empty string.
 * @throws InvalidFlagsConfig when `environmentId` is not a non-empty string.
 */
export function clusterContext(environmentId: string, clusterId: string): LDContext {
  assertClusterId(clusterId);
  assertEnvironmentId(environmentId);
  return {
    kind: "multi",
    [CLUSTER_CONTEXT_KIND]: { key: clusterId },
    [ENVIRONMENT_CONTEXT_KIND]: { key: environmentId },
  };
}

/** @throws InvalidClusterId when `clusterId` is not a non-empty string. */
export function assertClusterId(clusterId: unknown): asserts clusterId is string {
  if (typeof clusterId !== "string" || clusterId === "") throw new InvalidClusterId(clusterId);
}

/** @throws InvalidFlagsConfig when `environmentId` is not a non-empty string. */
export function assertEnvironmentId(environmentId: unknown): asserts environmentId is string {
  if (typeof environmentId !== "string" || environmentId === "") {
    throw new InvalidFlagsConfig(
      "environmentId",
      "pass the environment's id (a non-empty string); it is the key of the environment context",
    );
  }
}
