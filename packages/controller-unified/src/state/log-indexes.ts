/**
 * The log indexes of a cluster (phase 2, *logging*; materialize.md §5 "Controller side"): one per
 * introspection relation, named by the cluster's `LoggingConfig.indexLogs` (relation name →
 * GlobalId). Every replica maintains each of them about itself, from `CreateInstance` on. The
 * one rule both controllers use (compute-client's instance and the unified driver import it).
 *
 * ## Invariants (how they differ from the collection table's rows)
 * - Never created by `createDataflow`: their ids are taken from the start (a dataflow exporting
 *   one is `CollectionExists`), and only a replica-targeted subscribe may import one: it reads
 *   its target's log (history, then changes).
 * - No controller read holds and no `allowCompaction`: each replica compacts its own log indexes
 *   behind a fixed window, so a peek below a replica's since is that replica's error answer.
 * - Readable only by a peek with a `targetReplica`: the rows differ per replica. A disabled
 *   config (`enabled: false` or interval 0) has no log indexes.
 */
import { LOG_RELATIONS, type LoggingConfig, type LogRelation } from "@mzts/protocol";
import { GlobalId } from "@mzts/repr";

/** A log index as the controller knows it. */
export interface LogIndex {
  readonly id: GlobalId;
  readonly relation: LogRelation;
  /** The relation's column count (a peek's arity). */
  readonly arity: number;
}

/** Logging off: no log indexes (the default of a cluster controller without `logging`). */
export const LOGGING_DISABLED: LoggingConfig = {
  enabled: false,
  intervalMs: 0,
  logLogging: false,
  indexLogs: new Map(),
};

/**
 * The log indexes of a logging config, by id (empty when logging is off).
 * @param invalid builds the caller's error for an invalid config (its reason says what is wrong).
 * @throws what `invalid` builds, for an unknown relation name, an id that is not a GlobalId or is
 *   used twice, or an enabled config whose interval is not a positive integer.
 */
export function logIndexesOf(
  logging: LoggingConfig,
  invalid: (reason: string) => Error,
): ReadonlyMap<GlobalId, LogIndex> {
  const out = new Map<GlobalId, LogIndex>();
  if (logging.enabled && (!Number.isInteger(logging.intervalMs) || logging.intervalMs <= 0)) {
    throw invalid(`intervalMs is ${logging.intervalMs} while logging is enabled`);
  }
  for (const [name, id] of logging.indexLogs) {
    const relation = LOG_RELATIONS.find((r) => r.name === name);
    if (relation === undefined) {
      throw invalid(
        `indexLogs names ${JSON.stringify(name)}, which is no introspection relation ` +
          `(known: ${LOG_RELATIONS.map((r) => r.name).join(", ")})`,
      );
    }
    if (!GlobalId.is(id))
      throw invalid(`indexLogs.${name} is ${JSON.stringify(id)}, not a GlobalId`);
    if (out.has(id)) throw invalid(`indexLogs maps two relations to ${id}`);
    out.set(id, { id, relation, arity: relation.columns.length });
  }
  if (!logging.enabled || logging.intervalMs === 0) return new Map();
  return out;
}
