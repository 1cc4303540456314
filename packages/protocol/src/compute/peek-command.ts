/**
 * `buildPeek`: the `peek` command for a read of an index, with the defaults every controller uses
 * (compute-client's instances and the unified cluster controller of phase 5): every column,
 * unfiltered, no order, no limit.
 */
import type { GlobalId, ReplicaId, Row, Timestamp } from "@mzts/repr";
import type { MapFilterProject, Peek, RowSetFinishing } from "./command.js";

/** What a peek reads and how (a controller's peek request, without its timeout and signal). */
export interface PeekSpec {
  /** The index read. */
  readonly target: GlobalId;
  readonly timestamp: Timestamp;
  /** Default: every column, unfiltered. */
  readonly mapFilterProject?: MapFilterProject;
  /** Default: no order, no limit, every column of the map/filter/project output. */
  readonly finishing?: RowSetFinishing;
  /** Only these key rows (absent = all). */
  readonly literalConstraints?: readonly Row[];
  /** Only this replica's answer counts. */
  readonly targetReplica?: ReplicaId;
}

/** The `peek` command for `req` over a target of `arity` columns. */
export function buildPeek(uuid: string, req: PeekSpec, arity: number): Peek {
  const all = Array.from({ length: arity }, (_, i) => i);
  const mfp = req.mapFilterProject ?? { exprs: [], predicates: [], projection: all };
  const finishing = req.finishing ?? {
    orderBy: [],
    offset: 0,
    project: Array.from({ length: mfp.projection.length }, (_, i) => i),
  };
  return {
    uuid,
    target: { kind: "index", id: req.target },
    arity,
    timestamp: req.timestamp,
    mapFilterProject: mfp,
    finishing,
    ...(req.literalConstraints !== undefined ? { literalConstraints: req.literalConstraints } : {}),
    ...(req.targetReplica !== undefined ? { targetReplica: req.targetReplica } : {}),
  };
}
