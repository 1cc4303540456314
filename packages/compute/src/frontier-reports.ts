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
  /** First reports must be at or beyond this (the as-of). */
  lower: Frontier;
  write: Frontier | undefined;
  input: Frontier | undefined;
  output: Frontier | undefined;
}

const KINDS = ["write", "input", "output"] as const;

type Send = (id: GlobalId, frontiers: FrontiersUpdate) => void;

export class FrontierReports {
  /** Per index / persist sink export; removed when dropped. */
  readonly #reported = new Map<GlobalId, Reported>();
  /** Dropped ids whose empty frontiers are still to be reported. */
  readonly #pendingEmpty = new Set<GlobalId>();
  /** Last upper reported per log index (this connection). */
  readonly #logs = new Map<GlobalId, Frontier>();
  /** Tracked ids to look at in the next `report()`. */
  readonly #touched = new Set<GlobalId>();

  /** Starts (or restarts) reporting `id`, first report at or beyond `lower`. */
  track(id: GlobalId, lower: Frontier): void {
    this.#reported.set(id, { lower, write: undefined, input: undefined, output: undefined });
    this.#touched.add(id);
  }

  /** `id`'s frontiers may have moved: the next `report()` looks at it (untracked ids: no-op). */
  touch(id: GlobalId): void {
    if (this.#reported.has(id)) this.#touched.add(id);
  }

  /** Stops reporting `id`; with `report`, its empty frontiers go out once (unless already). */
  drop(id: GlobalId, report: boolean): void {
    const rep = this.#reported.get(id);
    if (!rep) return;
    if (report && !(rep.write === null && rep.input === null && rep.output === null)) {
      this.#pendingEmpty.add(id);
    }
    this.#reported.delete(id);
    this.#touched.delete(id);
  }

  /** A new connection: forget pending empties and what log indexes reported. */
  reset(): void {
    this.#pendingEmpty.clear();
    this.#logs.clear();
  }

  /**
   * Sends pending empties, then every frontier of a touched collection that advanced (`now(id)`
   * gives the export's current frontiers, undefined when it is gone), then log index uppers that
   * advanced.
   */
  report(
    now: (id: GlobalId) => FrontiersUpdate | undefined,
    logUppers: Iterable<readonly [GlobalId, Frontier]>,
    send: Send,
  ): void {
    for (const id of this.#pendingEmpty) {
      send(id, { write: Frontier.EMPTY, input: Frontier.EMPTY, output: Frontier.EMPTY });
    }
    this.#pendingEmpty.clear();
    for (const id of this.#touched) {
      const rep = this.#reported.get(id);
      if (rep === undefined) continue;
      const current = now(id);
      if (current === undefined) continue;
      const out: { write?: Frontier; input?: Frontier; output?: Frontier } = {};
      for (const k of KINDS) {
        const v = current[k];
        if (v === undefined || !Frontier.lessEqual(rep.lower, v)) continue;
        const prev = rep[k];
        if (prev === undefined || Frontier.lessThan(prev, v)) {
          rep[k] = v;
          out[k] = v;
        }
      }
      if (Object.keys(out).length > 0) send(id, out);
    }
    this.#touched.clear();
    for (const [id, upper] of logUppers) {
      const prev = this.#logs.get(id);
      if (prev !== undefined && !Frontier.lessThan(prev, upper)) continue;
      this.#logs.set(id, upper);
      send(id, { write: upper, input: upper, output: upper });
    }
  }
}
