/**
 * A dataflow's (or a subscribe's) imports as the collection table sees them: the one check of
 * what a new dataflow may read at its as-of, and the hold it then takes on each local import.
 *
 * ## Rules
 * - Its export ids are fresh: not a collection (live or dropped-not-forgotten), not a log index.
 * - A **local** import (a collection of this cluster) is live and readable at the as-of
 *   (`since ≤ as-of`); the dataflow then holds it with `dependant:<key>` at the as-of and is one
 *   of its dependants (its drop is refused while the dataflow lives; not for a subscribe, see
 *   `holdImports`).
 * - A **log index** import only in a replica-targeted subscribe (`LogImportUntargeted`), with the
 *   relation's arity; it takes no hold (each replica compacts its own log).
 * - An import of **another cluster** comes with a `ReadHold` at or below the as-of
 *   (`foreignHolds`). A subscribe may omit it for a source import (the caller keeps it readable,
 *   as environmentd does on the legacy path); an index import is always local.
 * - Its plans are valid (`validateDataflowPlans`, compute-client's rule, checked by the driver
 *   before the state takes the dataflow).
 */
import { validatePlan } from "@mzts/expr";
import type { DataflowDescription } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId, type Timestamp } from "@mzts/repr";
import type { CollectionTable } from "./collection-table.js";
import {
  CollectionExists,
  CollectionMissing,
  InvalidStateRequest,
  LogImportUntargeted,
  SinceViolation,
} from "./errors.js";
import type { LogIndex } from "./log-indexes.js";
import { Holder, type ReadHold } from "./read-holds.js";

/** What the check needs. */
export interface ImportContext {
  readonly clusterId: string;
  readonly table: CollectionTable;
  logIndex(id: GlobalId): LogIndex | undefined;
  /** Other ids that are taken (live subscribes). */
  taken?(id: GlobalId): boolean;
}

/** How the dataflow is being created. */
export interface ImportRequest {
  readonly op: string;
  readonly exportIds: readonly GlobalId[];
  readonly foreignHolds: readonly ReadHold[];
  /** A subscribe's target replica (only a targeted subscribe may import a log index). */
  readonly target?: ReplicaId;
  /** A subscribe: a source of another cluster may come without a hold. */
  readonly unheldForeignSources?: boolean;
}

/**
 * Checks `desc`'s exports and imports (see the rules) and returns its as-of and local imports.
 * @throws InvalidStateRequest, CollectionExists, CollectionMissing, SinceViolation,
 *   LogImportUntargeted
 */
export function checkImports(
  ctx: ImportContext,
  desc: DataflowDescription,
  req: ImportRequest,
): { readonly asOf: Timestamp; readonly local: GlobalId[] } {
  const { op } = req;
  const asOf = desc.asOf;
  if (asOf === null)
    throw new InvalidStateRequest(op, "the as-of is empty; give the time its results start at");
  for (const id of req.exportIds) {
    if (ctx.table.has(id) || ctx.logIndex(id) !== undefined || ctx.taken?.(id) === true)
      throw new CollectionExists(ctx.clusterId, id);
  }
  for (const imp of desc.indexImports) {
    const log = ctx.logIndex(imp.id);
    if (log === undefined) continue;
    if (req.target === undefined) throw new LogImportUntargeted(log.id, log.relation.name);
    if (imp.arity !== log.arity) {
      throw new InvalidStateRequest(
        op,
        `it imports log index ${imp.id} (${log.relation.name}) with arity ${imp.arity}; the ` +
          `relation has ${log.arity} columns`,
      );
    }
  }
  const indexImports = new Set(desc.indexImports.map((i) => i.id));
  const local: GlobalId[] = [];
  for (const { id } of [...desc.sourceImports, ...desc.indexImports]) {
    if (ctx.logIndex(id) !== undefined || local.includes(id)) continue;
    const c = ctx.table.find(id);
    if (c === undefined) {
      const hold = req.foreignHolds.find((h) => h.collectionId === id);
      if (hold !== undefined) {
        if (!Frontier.lessEqual(hold.frontier, asOf))
          throw new SinceViolation(id, asOf, hold.frontier);
        continue;
      }
      if (indexImports.has(id)) throw new CollectionMissing(ctx.clusterId, id, op);
      if (req.unheldForeignSources === true) continue;
      throw new InvalidStateRequest(
        op,
        `${id} is not a collection of cluster ${ctx.clusterId}; pass a read hold on it (foreignHolds)`,
      );
    }
    if (c.dropped) throw new CollectionMissing(ctx.clusterId, id, op);
    if (!Frontier.lessEqual(c.since, asOf)) throw new SinceViolation(id, asOf, c.since);
    local.push(id);
  }
  return { asOf, local };
}

/**
 * `key` holds each local import at `at` (`dependant:<key>`); a dataflow also becomes one of its
 * dependants (its drop is refused while the dataflow lives), a subscribe does not (`dependant:
 * false`: as on the legacy path, its inputs may be dropped under it; the hold keeps a dropped
 * import's row and shard handle until the subscribe ends).
 */
export function holdImports(
  table: CollectionTable,
  key: GlobalId,
  local: readonly GlobalId[],
  at: Timestamp,
  op: string,
  dependant = true,
): void {
  for (const id of local) {
    const c = table.live(id, op);
    c.holds.set(Holder.dependant(key), at);
    if (dependant) c.dependants.add(key);
  }
}

/**
 * Validates a dataflow's plans (`validatePlan` of `@mzts/expr`, compute-client's rule); returns
 * the arity of each import and built object. @throws MalformedPlan
 */
export function validateDataflowPlans(desc: DataflowDescription): Map<GlobalId, number> {
  const arities = new Map<GlobalId, number>();
  for (const s of desc.sourceImports) arities.set(s.id, s.arity);
  for (const i of desc.indexImports) arities.set(i.id, i.arity);
  desc.objectsToBuild.forEach((o, i) => {
    arities.set(
      o.id,
      validatePlan(o.plan, (id) => arities.get(id), `objectsToBuild[${i}]`),
    );
  });
  return arities;
}
