/**
 * Replica-targeted commands: which replica a command is meant for, when only one is. The one
 * rule both controllers route by (compute-client's replicas and the unified `ClusterState`).
 *
 * Two kinds of commands go to one replica only, live and in replays (compute-client's
 * `forReplica`; the unified state's outbox and `replay`):
 * - a peek with `targetReplica` (its answer is that replica's) — and its `cancelPeek`, when the
 *   caller's `targetOf` knows the peek's uuid (compute-client's instances, while they send it:
 *   the other replicas never got the peek, issue 16);
 * - every command of a replica-targeted subscribe (`Instance.subscribe(desc, { targetReplica })`:
 *   its `createDataflow` and the `schedule` and `allowCompaction` of its sink id). Such a
 *   subscribe may import the instance's log indexes, which hold that replica's own rows; another
 *   replica must never build it (it would answer with its own log, merged into the same stream).
 *
 * The owner of a targeted subscribe's id is kept by the instance's subscribes
 * (`SubscribeSet.targetOf`) until its last command (the drop) was sent.
 */
import type { ComputeCommand } from "@mzts/protocol";
import type { GlobalId, ReplicaId } from "@mzts/repr";

/** The replica a targeted subscribe's id (or a targeted peek's uuid, at its cancel) belongs to. */
export type TargetOf = (id: GlobalId) => ReplicaId | undefined;

/** The only replica `c` is for, or undefined when every replica gets it. */
export function commandTarget(
  c: ComputeCommand,
  targetOf: TargetOf | undefined,
): ReplicaId | undefined {
  switch (c.kind) {
    case "peek":
      return c.peek.targetReplica;
    case "cancelPeek":
      return targetOf?.(c.uuid);
    case "createDataflow": {
      if (targetOf === undefined) return undefined;
      const sink = c.dataflow.sinkExports[0];
      return sink === undefined ? undefined : targetOf(sink.id);
    }
    case "schedule":
    case "allowCompaction":
      return targetOf?.(c.id);
    default:
      return undefined;
  }
}
