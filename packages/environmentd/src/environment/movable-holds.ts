/**
 * Holds on durable collections that outlive their owner's controller: `Shards.acquire` hands out
 * a `MovableHold` wrapping the owner controller's hold, so a rebuild of the owner's controller (a
 * live flip of `state`, `flips/controller-rebuild.ts`) can move it to the new controller without
 * its holder — another cluster's dataflow (`foreignHolds`) or a subscribe — noticing.
 *
 * ## Invariants
 * - `move(acquire)` takes the new hold at the wrapper's frontier BEFORE releasing the old one, so
 *   the collection is held without a gap; a since that already passed the frontier (the new
 *   owner re-attached a handle that moved on) is held at that since instead, with a warning.
 * - Release is idempotent and releases whichever hold is current; a released wrapper is forgotten.
 * - `heldBy` is the cluster whose dataflow took the hold (undefined: a subscribe or a peek): a
 *   rebuild of THAT cluster re-installs its dataflows, which take new holds, and releases these
 *   (`releaseHeldBy`).
 */
import type { ReadHold } from "@mzts/controller-unified/state";
import { Frontier, type GlobalId } from "@mzts/repr";

/** A hold whose underlying owner hold can be replaced (see the file comment). */
export class MovableHold implements ReadHold {
  readonly collectionId: GlobalId;
  readonly heldBy: GlobalId | undefined;
  #inner: ReadHold;
  #released = false;
  readonly #onRelease: (h: MovableHold) => void;

  constructor(inner: ReadHold, heldBy: GlobalId | undefined, onRelease: (h: MovableHold) => void) {
    this.collectionId = inner.collectionId;
    this.heldBy = heldBy;
    this.#inner = inner;
    this.#onRelease = onRelease;
  }

  get frontier(): Frontier {
    return this.#inner.frontier;
  }

  get released(): boolean {
    return this.#released;
  }

  downgrade(f: Frontier): void {
    if (!this.#released) this.#inner.downgrade(f);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#inner.release();
    this.#onRelease(this);
  }

  /**
   * Re-takes the hold through `acquire` at its frontier, then lets go of the old one (best
   * effort: its controller may be closed). Returns the frontier it holds at now.
   */
  move(acquire: (at: Frontier) => ReadHold, since: Frontier): Frontier {
    if (this.#released) return this.frontier;
    const at = Frontier.join(this.#inner.frontier, since);
    const next = acquire(at);
    const old = this.#inner;
    this.#inner = next;
    try {
      old.release();
    } catch {
      // The old owner is closed: its hold went with it.
    }
    return at;
  }
}

/** The live movable holds, by collection. */
export class MovableHolds {
  readonly #live = new Set<MovableHold>();

  /** Wraps `inner`; forgotten on release. */
  wrap(inner: ReadHold, heldBy: GlobalId | undefined): MovableHold {
    const h = new MovableHold(inner, heldBy, (x) => this.#live.delete(x));
    this.#live.add(h);
    return h;
  }

  /** The live holds on `ids`. */
  on(ids: ReadonlySet<GlobalId>): MovableHold[] {
    return [...this.#live].filter((h) => ids.has(h.collectionId));
  }

  /** The live holds a cluster's dataflows took. */
  heldBy(clusterId: GlobalId): MovableHold[] {
    return [...this.#live].filter((h) => h.heldBy === clusterId);
  }
}
