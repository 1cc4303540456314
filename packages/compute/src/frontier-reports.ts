/**
 * `FrontierReports`: the frontiers one worker reports to its controller (design §3), with the
 * rules that make the merged stream valid: per index and persist sink export, a report only when
 * a frontier advanced, never regressing, the first at or beyond the as-of (`lower`); a dropped
 * export reports all three frontiers empty once. Log indexes (phase 2, *logging*) report their
 * upper as all three frontiers, so a controller can pick peek times below it.
 *
 * A new connection (reconciliation) starts afresh: pending empties are forgotten and every
 * collection's next report is its first.
 *
 * ## Cost independent of idle collections
 * `report()` looks only at collections *touched* since the last report: newly tracked ones, and
 * those the worker `touch()`es because their dataflow ran (every frontier of an export moves
 * only when its dataflow's graph runs: input, exchange or an async completion activates it). A
 * touched collection whose frontiers are not reportable yet (below the as-of, unknown) is looked
 * at again when its dataflow runs again. Log indexes (a handful per instance) are looked at on
 * every report.
 */
import type { FrontiersUpdate } from "@mzts/protocol";
import { Frontier, type GlobalId } from "@mzts/repr";

/** Frontiers reported for one collection since the connection began. */
interface Reported {
  readonly id: GlobalId;
  /** First reports must be at or beyond this (the as-of). */
  readonly lower: Frontier;
  write: Frontier | undefined;
  input: Frontier | undefined;
  output: Frontier | undefined;
  /** Listed in `#touched` (each collection once). */
  touched: boolean;
  /** Still tracked (false once dropped or tracked anew). */
  live: boolean;
}

/**
 * An export's current frontiers, written into `out` (each field undefined when not known);
 * false when the export is gone. Filling a scratch object instead of returning one: the report
 * of an idle tick allocates only what it sends.
 */
export type FrontiersOf = (id: GlobalId, out: CurrentFrontiers) => boolean;

/** What `FrontiersOf` fills in. */
export interface CurrentFrontiers {
  write: Frontier | undefined;
  input: Frontier | undefined;
  output: Frontier | undefined;
}

type Send = (id: GlobalId, frontiers: FrontiersUpdate) => void;

export class FrontierReports {
  /** Per index / persist sink export; removed when dropped. */
  readonly #reported = new Map<GlobalId, Reported>();
  /** Dropped ids whose empty frontiers are still to be reported. */
  readonly #pendingEmpty = new Set<GlobalId>();
  /** Last upper reported per log index (this connection). */
  readonly #logs = new Map<GlobalId, Frontier>();
  /** Tracked collections to look at in the next `report()` (an array and a flag: no set). */
  #touched: Reported[] = [];
  readonly #current: CurrentFrontiers = { write: undefined, input: undefined, output: undefined };

  /** Starts (or restarts) reporting `id`, first report at or beyond `lower`. */
  track(id: GlobalId, lower: Frontier): void {
    const old = this.#reported.get(id);
    if (old !== undefined) old.live = false;
    const rep: Reported = {
      id,
      lower,
      write: undefined,
      input: undefined,
      output: undefined,
      touched: true,
      live: true,
    };
    this.#reported.set(id, rep);
    this.#touched.push(rep);
  }

  /** `id`'s frontiers may have moved: the next `report()` looks at it (untracked ids: no-op). */
  touch(id: GlobalId): void {
    const rep = this.#reported.get(id);
    if (rep === undefined || rep.touched) return;
    rep.touched = true;
    this.#touched.push(rep);
  }

  /** Stops reporting `id`; with `report`, its empty frontiers go out once (unless already). */
  drop(id: GlobalId, report: boolean): void {
    const rep = this.#reported.get(id);
    if (!rep) return;
    if (report && !(rep.write === null && rep.input === null && rep.output === null)) {
      this.#pendingEmpty.add(id);
    }
    rep.live = false;
    this.#reported.delete(id);
  }

  /** A new connection: forget pending empties and what log indexes reported. */
  reset(): void {
    this.#pendingEmpty.clear();
    this.#logs.clear();
  }

  /**
   * Sends pending empties, then every frontier of a touched collection that advanced
   * (`frontiersOf` gives the export's current frontiers), then log index uppers that advanced.
   */
  report(
    frontiersOf: FrontiersOf,
    logUppers: Iterable<readonly [GlobalId, Frontier]>,
    send: Send,
  ): void {
    for (const id of this.#pendingEmpty) {
      send(id, { write: Frontier.EMPTY, input: Frontier.EMPTY, output: Frontier.EMPTY });
    }
    this.#pendingEmpty.clear();
    const touched = this.#touched;
    this.#touched = [];
    const cur = this.#current;
    for (let i = 0; i < touched.length; i++) {
      const rep = touched[i]!;
      rep.touched = false;
      if (!rep.live) continue;
      cur.write = cur.input = cur.output = undefined;
      if (!frontiersOf(rep.id, cur)) continue;
      const write = advanced(rep, rep.write, cur.write);
      const input = advanced(rep, rep.input, cur.input);
      const output = advanced(rep, rep.output, cur.output);
      if (write === undefined && input === undefined && output === undefined) continue;
      const out: { write?: Frontier; input?: Frontier; output?: Frontier } = {};
      if (write !== undefined) out.write = rep.write = write;
      if (input !== undefined) out.input = rep.input = input;
      if (output !== undefined) out.output = rep.output = output;
      send(rep.id, out);
    }
    for (const [id, upper] of logUppers) {
      const prev = this.#logs.get(id);
      if (prev !== undefined && !Frontier.lessThan(prev, upper)) continue;
      this.#logs.set(id, upper);
      send(id, { write: upper, input: upper, output: upper });
    }
  }
}

/**
 * `now` when it is reportable (at or beyond the collection's lower) and advanced past `prev`
 * (or is the first), else undefined.
 */
function advanced(rep: Reported, prev: Frontier | undefined, now: Frontier | undefined) {
  if (now === undefined || !Frontier.lessEqual(rep.lower, now)) return undefined;
  if (prev === undefined || Frontier.lessThan(prev, now)) return now;
  return undefined;
}
