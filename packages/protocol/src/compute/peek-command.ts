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

/** `[0, 1, …, n - 1]`, frozen, one per `n` (shared by every peek: issue 16). */
const identities: (readonly number[])[] = [];
const NO_EXPRS: readonly never[] = Object.freeze([]);
/** The default map/filter/project and finishing per width (frozen, shared). */
const defaultMfps: MapFilterProject[] = [];
const defaultFinishings: RowSetFinishing[] = [];

function identity(n: number): readonly number[] {
  let ids = identities[n];
  if (ids === undefined) {
    ids = Object.freeze(Array.from({ length: n }, (_, i) => i));
    if (Number.isSafeInteger(n) && n >= 0 && n <= 1024) identities[n] = ids;
  }
  return ids;
}

/** Every column, unfiltered (shared per arity). */
function defaultMfp(arity: number): MapFilterProject {
  let mfp = defaultMfps[arity];
  if (mfp === undefined) {
    mfp = Object.freeze({ exprs: NO_EXPRS, predicates: NO_EXPRS, projection: identity(arity) });
    if (Number.isSafeInteger(arity) && arity >= 0 && arity <= 1024) defaultMfps[arity] = mfp;
  }
  return mfp;
}

/** No order, no limit, every column (shared per width). */
function defaultFinishing(width: number): RowSetFinishing {
  let f = defaultFinishings[width];
  if (f === undefined) {
    f = Object.freeze({ orderBy: NO_EXPRS, offset: 0, project: identity(width) });
    if (Number.isSafeInteger(width) && width >= 0 && width <= 1024) defaultFinishings[width] = f;
  }
  return f;
}

/**
 * The `peek` command for `req` over a target of `arity` columns. The defaults (`mapFilterProject`,
 * `finishing`) are frozen objects shared by every peek of the same width.
 */
export function buildPeek(uuid: string, req: PeekSpec, arity: number): Peek {
  const mfp = req.mapFilterProject ?? defaultMfp(arity);
  const finishing = req.finishing ?? defaultFinishing(mfp.projection.length);
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
