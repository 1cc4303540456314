/**
 * `PeekTrace`: the wall-clock stages of one API peek (issue 16: "find the wait"), marked by each
 * layer the peek passes through and read once it is answered.
 *
 * ## Stages, in order (`PEEK_STAGES`)
 * | stage         | marked by                       | when                                               |
 * | ------------- | ------------------------------- | -------------------------------------------------- |
 * | `received`    | the API (environmentd)          | the call's handler ran (headers in)                |
 * | `decoded`     | the API                         | the request's body read and decoded                |
 * | `admitted`    | the API                         | the call started (the lean path admits a number a turn) |
 * | `resolved`    | reads (environmentd)            | object, index, columns, keys and size validated    |
 * | `timestamped` | reads                           | the peek's timestamp chosen                        |
 * | `issued`      | the cluster's controller        | the `peek` command handed to the replica tasks     |
 * | `written`     | the cluster's controller        | the command written to the first replica's stream |
 * | `replied`     | the replica task (legacy)       | the winning answer's stream message arrived (before its decode) |
 * | `answered`    | the cluster's controller        | the first (or the targeted) answer absorbed        |
 * | `responded`   | the API                         | the answer's bytes handed to the call's response   |
 *
 * ## Invariants
 * - A stage is marked once: the first mark wins (`written` is the first replica's write).
 * - A stage nobody marked stays 0 (e.g. a path that has no coalesced writes); readers skip it.
 * - Marking costs one `performance.now()` and one store: cheap enough to stay on.
 */

/** The stages of an API peek, in the order a peek passes them (see the file comment). */
export const PEEK_STAGES = [
  "received",
  "decoded",
  "admitted",
  "resolved",
  "timestamped",
  "issued",
  "written",
  "replied",
  "answered",
  "responded",
] as const;

/** One stage of an API peek. */
export type PeekStage = (typeof PEEK_STAGES)[number];

/** The index of each stage in `PeekTrace.at`. */
export const PeekStageIndex: { readonly [S in PeekStage]: number } = Object.freeze({
  received: 0,
  decoded: 1,
  admitted: 2,
  resolved: 3,
  timestamped: 4,
  issued: 5,
  written: 6,
  replied: 7,
  answered: 8,
  responded: 9,
});

/** The stage times of one peek (`performance.now()` ms; 0 = not marked). */
export class PeekTrace {
  /** By `PeekStageIndex`; 0 while unmarked. */
  readonly at: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

  /** Marks `stage` now, unless it is marked already (the first mark wins). */
  mark(stage: number): void {
    if (this.at[stage] === 0) this.at[stage] = performance.now();
  }
}
