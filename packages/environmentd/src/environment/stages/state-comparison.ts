/**
 * The derived-state comparison of a `state` migration stage (docs/design/20261207_migration_stages.md,
 * "Phase 5"): what the authoritative and the shadow controller say about the cluster, read
 * through the `ClusterController` interface (`snapshotOf`), compared item by item (`StateDivergences`).
 *
 * ## Items
 * - per collection the composite was told about: whether it has frontiers (a missing one throws),
 *   its since and upper;
 * - per replica, each export's frontier as that replica reported it (`replicaFrontiers`);
 * - the failures (quarantined or failed objects, with their reasons).
 * Replay contents are compared by the composite as they are recorded (`mirror-replicas.ts`).
 *
 * ## Convergence
 * Both sides absorb the same responses at slightly different moments, so a difference is an
 * inconsistency only when it does not converge within `windowMs`:
 * - a frontier item (monotone): when a difference is first seen, the leading side's value is
 *   the target; it converged once the lagging side reached that target (a steadily advancing
 *   frontier the shadow trails by a moment never counts); a new difference starts a new window;
 * - any other item: it converged once both sides agree again.
 * An item past its window is reported once (`observe` returns it) until it converges.
 */
import type { ClusterController } from "@mzts/controller-unified/state";
import { Frontier, type GlobalId } from "@mzts/repr";

/** One side's derived state. */
export interface StateSnapshot {
  /** Collection → its frontiers, or `missing` when the side has no such live collection. */
  readonly collections: ReadonlyMap<
    GlobalId,
    { readonly since: Frontier; readonly upper: Frontier } | "missing"
  >;
  /** Replica → export → its reported write frontier. */
  readonly replicaFrontiers: ReadonlyMap<string, ReadonlyMap<GlobalId, Frontier>>;
  readonly failures: ReadonlyMap<GlobalId, string>;
}

/** A controller's snapshot of `ids` and `replicaIds` (a throwing read counts as missing). */
export function snapshotOf(
  c: ClusterController,
  ids: Iterable<GlobalId>,
  replicaIds: Iterable<string>,
): StateSnapshot {
  const collections = new Map<GlobalId, { since: Frontier; upper: Frontier } | "missing">();
  for (const id of ids) {
    try {
      // `frontiers`, not `hasCollection`: the legacy adapter's does not count subscribes.
      const f = c.frontiers(id);
      collections.set(id, { since: f.since, upper: f.write });
    } catch {
      collections.set(id, "missing");
    }
  }
  const replicaFrontiers = new Map<string, ReadonlyMap<GlobalId, Frontier>>();
  for (const r of replicaIds) {
    try {
      replicaFrontiers.set(r, c.replicaFrontiers(r));
    } catch {
      replicaFrontiers.set(r, new Map());
    }
  }
  return { collections, replicaFrontiers, failures: c.failures() };
}

type Item =
  | { readonly kind: "frontier"; readonly a: Frontier; readonly s: Frontier }
  | { readonly kind: "value"; readonly a: string; readonly s: string };

/** The items of two snapshots, by key (see the file comment). */
export function itemsOf(a: StateSnapshot, s: StateSnapshot): Map<string, Item> {
  const items = new Map<string, Item>();
  const fmt = (x: unknown) => (x === "missing" ? "missing" : "live");
  for (const id of new Set([...a.collections.keys(), ...s.collections.keys()])) {
    const fa = a.collections.get(id) ?? "missing";
    const fs = s.collections.get(id) ?? "missing";
    items.set(`collection ${id}`, { kind: "value", a: fmt(fa), s: fmt(fs) });
    if (fa === "missing" || fs === "missing") continue;
    items.set(`since ${id}`, { kind: "frontier", a: fa.since, s: fs.since });
    items.set(`upper ${id}`, { kind: "frontier", a: fa.upper, s: fs.upper });
  }
  for (const r of new Set([...a.replicaFrontiers.keys(), ...s.replicaFrontiers.keys()])) {
    const ma = a.replicaFrontiers.get(r) ?? new Map<GlobalId, Frontier>();
    const ms = s.replicaFrontiers.get(r) ?? new Map<GlobalId, Frontier>();
    for (const id of new Set([...ma.keys(), ...ms.keys()])) {
      items.set(`replica ${r} ${id}`, {
        kind: "frontier",
        a: ma.get(id) ?? Frontier.MIN,
        s: ms.get(id) ?? Frontier.MIN,
      });
    }
  }
  for (const id of new Set([...a.failures.keys(), ...s.failures.keys()])) {
    items.set(`failure ${id}`, {
      kind: "value",
      a: a.failures.get(id) ?? "none",
      s: s.failures.get(id) ?? "none",
    });
  }
  return items;
}

interface Open {
  readonly since: number;
  /** Frontier items: the value the lagging side must reach, and which side lags. */
  readonly target?: Frontier;
  readonly lagging?: "a" | "s";
  reported: boolean;
}

/** What one observation found. */
export interface Observation {
  /** Differences that just outlived their window (each reported once), as text. */
  readonly inconsistent: readonly string[];
  /** Differences still open (within their window, or reported and not yet converged). */
  readonly open: number;
}

/** Differences between two sides over time (see the file comment). */
export class StateDivergences {
  readonly #windowMs: number;
  readonly #open = new Map<string, Open>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Observes the items at `now` (ms); `names` labels the sides in the texts. */
  observe(
    now: number,
    items: ReadonlyMap<string, Item>,
    names: { readonly a: string; readonly s: string },
  ): Observation {
    const inconsistent: string[] = [];
    for (const k of [...this.#open.keys()]) if (!items.has(k)) this.#open.delete(k);
    for (const [k, item] of items) {
      const open = this.#next(k, item, now);
      if (open === undefined) {
        this.#open.delete(k);
        continue;
      }
      this.#open.set(k, open);
      if (!open.reported && now - open.since >= this.#windowMs) {
        open.reported = true;
        inconsistent.push(`${k}: ${names.a} ${show(item.a)}, ${names.s} ${show(item.s)}`);
      }
    }
    return { inconsistent, open: this.#open.size };
  }

  /** The item's open difference after this observation (undefined: none). */
  #next(k: string, item: Item, now: number): Open | undefined {
    const prev = this.#open.get(k);
    if (item.kind === "value") {
      if (item.a === item.s) return undefined;
      return prev ?? { since: now, reported: false };
    }
    if (Frontier.equal(item.a, item.s)) return undefined;
    if (prev?.target !== undefined && prev.lagging !== undefined) {
      const lagged = prev.lagging === "a" ? item.a : item.s;
      // Still short of the earlier leading value: the same difference.
      if (!Frontier.lessEqual(prev.target, lagged)) return prev;
    }
    const aLeads = Frontier.lessEqual(item.s, item.a);
    return {
      since: now,
      target: aLeads ? item.a : item.s,
      lagging: aLeads ? "s" : "a",
      reported: false,
    };
  }
}

function show(v: Frontier | string): string {
  return typeof v === "string" ? v : Frontier.format(v);
}
