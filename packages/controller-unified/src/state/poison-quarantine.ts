/**
 * Poison-command quarantine: a command that made replicas fail twice is not replayed again. The
 * one rule both controllers apply: compute-client's instance and the unified cluster controller
 * (`unified-cluster-controller.ts`) feed it the same events.
 *
 * A replica that dies on a command (or refuses to decode it and ends its stream) is rehydrated
 * with the reduced history, which holds the same command: without this, it fails again forever
 * (and a restarted environmentd replays it from the catalog). The instance feeds this class what
 * it sends, what replicas answer and when an incarnation fails; it returns the commands to
 * quarantine, and the instance takes them out of the history and reports them failed.
 *
 * ## Rules
 * - A **suspect** is a `createDataflow` or `peek` written to an incarnation that has not answered
 *   it: a dataflow is answered by any `frontiers`, `subscribeResponse` (a subscribe reports no
 *   frontiers) or `commandError` naming one of its exports, a peek by its `peekResponse` (or a
 *   `commandError` naming its uuid). Answers count for every
 *   replica: an object some replica answered is never a suspect again (the failure lies elsewhere).
 * - When an incarnation fails, each of its suspects sent within `SUSPECT_WINDOW_MS` before the
 *   failure gets a strike **from that replica**. The newest suspect that one replica struck
 *   `QUARANTINE_STRIKES` times (over its incarnations) is quarantined; at most one per failure,
 *   so a good object replayed beside a poison one is given the chance to be answered once the
 *   poison one is gone. Strikes are counted per replica, not summed over replicas: a crash of
 *   every replica at once (a host dying, a chaos kill of both) is one strike each, not a verdict;
 *   a real poison command fails each replica again on its replay, so it still goes after two
 *   rounds.
 * - A failure that is no command's fault — the replica refused the hello (fenced, or not
 *   authenticated) — strikes nothing: the instance calls `forgetReplica` instead of `failed`.
 * - A quarantined collection stays failed with its reason (`failures()`) until `clearFailure`
 *   (the user drops it); `forget` stops tracking settled peeks and removed collections.
 *
 * A replica killed twice (chaos, OOM) within the window right after receiving a new object that
 * no replica had answered yet looks the same; the window, "answered once by anyone" and counting
 * per replica keep that rare, and the reason says what happened so an operator can recreate it.
 */
import { type ComputeCommand, type ComputeResponse, dataflowExportIds } from "@mzts/protocol";
import type { GlobalId, ReplicaId } from "@mzts/repr";

/** Strikes that quarantine a suspect. */
export const QUARANTINE_STRIKES = 2;
/** A failure this long after a command was sent does not count against it. */
export const SUSPECT_WINDOW_MS = 10_000;

/** What was quarantined. */
export type Quarantined =
  | { readonly kind: "dataflow"; readonly ids: readonly GlobalId[]; readonly reason: string }
  | { readonly kind: "peek"; readonly uuid: string; readonly reason: string };

interface Suspect {
  /** A dataflow's `dataflow:<export ids>`; a peek's uuid (no prefix: no allocation per send). */
  readonly key: string;
  readonly kind: "dataflow" | "peek";
  /** Export ids (dataflow); a peek's is its key. */
  readonly ids: readonly string[] | undefined;
  sentAt: number;
  order: number;
}

// PHASE(state): shared — the legacy compute instance and the unified driver both use it
/** Strikes and quarantined collections (see the file comment). */
export class PoisonQuarantine {
  /** Per replica: its current incarnation's unanswered commands by key. */
  readonly #inFlight = new Map<ReplicaId, Map<string, Suspect>>();
  /** Object id (export or uuid) → the key of its command. */
  readonly #keyOf = new Map<string, string>();
  readonly #answered = new Set<string>();
  /** Per suspect key: strikes per replica. */
  readonly #strikes = new Map<string, Map<ReplicaId, number>>();
  readonly #failed = new Map<GlobalId, string>();
  #order = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A command written to `replicaId`'s current incarnation (live or replayed). */
  sent(replicaId: ReplicaId, c: ComputeCommand): void {
    let ids: string[] | undefined;
    let kind: Suspect["kind"];
    let key: string;
    if (c.kind === "createDataflow") {
      ids = dataflowExportIds(c.dataflow);
      kind = "dataflow";
      key = `dataflow:${ids.join(",")}`;
      if (ids.length === 0 || this.#answered.has(key)) return;
      for (const id of ids) this.#keyOf.set(id, key);
    } else if (c.kind === "peek") {
      // Every API peek, to every replica (issue 16): its uuid is its key (a randomUUID never
      // starts with `dataflow:`).
      kind = "peek";
      key = c.peek.uuid;
      if (key === "" || this.#answered.has(key)) return;
      this.#keyOf.set(key, key);
    } else return;
    let m = this.#inFlight.get(replicaId);
    if (m === undefined) {
      m = new Map();
      this.#inFlight.set(replicaId, m);
    }
    m.set(key, { key, kind, ids, sentAt: this.#now(), order: ++this.#order });
  }

  /** A replica's response: answers the command it names, for every replica. */
  answered(r: ComputeResponse): void {
    const id =
      r.kind === "frontiers" || r.kind === "subscribeResponse"
        ? r.id
        : r.kind === "peekResponse"
          ? r.uuid
          : r.kind === "commandError"
            ? r.error.objectId
            : undefined;
    const key = id === undefined ? undefined : this.#keyOf.get(id);
    // Answered before: `sent` no longer tracks it and its strikes are gone, so nothing to do
    // (every index's frontiers, once a second, land here: issue 16).
    if (key === undefined || this.#answered.has(key)) return;
    this.#answered.add(key);
    this.#strikes.delete(key);
    for (const m of this.#inFlight.values()) m.delete(key);
  }

  /**
   * `replicaId`'s incarnation failed with `error`: strikes its recent suspects and returns the
   * one to quarantine, if any. The next incarnation starts with nothing in flight.
   */
  failed(replicaId: ReplicaId, error: string): Quarantined | undefined {
    const m = this.#inFlight.get(replicaId);
    this.#inFlight.delete(replicaId);
    if (m === undefined) return undefined;
    const now = this.#now();
    let pick: Suspect | undefined;
    let pickStrikes = 0;
    for (const s of m.values()) {
      if (now - s.sentAt > SUSPECT_WINDOW_MS) continue;
      let byReplica = this.#strikes.get(s.key);
      if (byReplica === undefined) {
        byReplica = new Map();
        this.#strikes.set(s.key, byReplica);
      }
      const n = (byReplica.get(replicaId) ?? 0) + 1;
      byReplica.set(replicaId, n);
      if (n >= QUARANTINE_STRIKES && (pick === undefined || s.order > pick.order)) {
        pick = s;
        pickStrikes = n;
      }
    }
    if (pick === undefined) return undefined;
    const reason =
      `quarantined: replica ${replicaId} failed ${pickStrikes} times while applying it ` +
      `(last: ${error}); it is no longer sent to replicas`;
    this.#strikes.delete(pick.key);
    for (const other of this.#inFlight.values()) other.delete(pick.key);
    if (pick.kind === "peek") return { kind: "peek", uuid: pick.key, reason };
    const ids = pick.ids ?? [];
    for (const id of ids) this.#failed.set(id, reason);
    return { kind: "dataflow", ids, reason };
  }

  /** A replica left the instance: what it had in flight no longer counts. */
  forgetReplica(replicaId: ReplicaId): void {
    this.#inFlight.delete(replicaId);
  }

  /** Collections quarantined so far, with their reasons. */
  failures(): ReadonlyMap<GlobalId, string> {
    return this.#failed;
  }

  /** The user dropped a quarantined collection: its failure is no longer reported. */
  clearFailure(id: GlobalId): void {
    this.#failed.delete(id);
  }

  /** Stops tracking `id` (a settled peek, a removed collection); its failure stays reported. */
  forget(id: string): void {
    const key = this.#keyOf.get(id);
    this.#keyOf.delete(id);
    if (key === undefined) return;
    this.#strikes.delete(key);
    this.#answered.delete(key);
    for (const m of this.#inFlight.values()) m.delete(key);
  }
}
