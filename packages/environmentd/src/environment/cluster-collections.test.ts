/**
 * `collectionsByCluster` against the walk it replaces in Status (every object, filtered to the
 * cluster and to non-sources, sorted by name), over seeded random catalogs changed the way the
 * object cache changes them: each DDL a new map (copy on write), the old one left as it was.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { collectionsByCluster } from "./cluster-collections.js";
import type { Resolved } from "./objects.js";

const KINDS = ["source", "subsource", "index", "materializedView", "introspection"] as const;
const CLUSTERS = ["u1", "u2", "u3"];

/** Status's walk before `cluster-collections.ts`: the model. */
function walk(byId: ReadonlyMap<string, Resolved>, clusterId: string): Resolved[] {
  const out: Resolved[] = [];
  for (const r of byId.values()) if (r.clusterId === clusterId && r.kind !== "source") out.push(r);
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function expectSame(byId: ReadonlyMap<string, Resolved>): void {
  const derived = collectionsByCluster(byId);
  for (const c of [...CLUSTERS, "u9"]) expect(derived.get(c) ?? []).toEqual(walk(byId, c));
  for (const [c, list] of derived) {
    expect(CLUSTERS).toContain(c);
    expect(list.length).toBeGreaterThan(0);
  }
}

/** One DDL: create an object (kind, cluster, name stem) or drop the n-th live one. */
const ddl = fc.oneof(
  fc.record({
    create: fc.constantFrom(...KINDS),
    cluster: fc.constantFrom(...CLUSTERS),
    // Names in no relation to ids or creation order (sorting must not be by either).
    stem: fc.string({ maxLength: 4 }),
  }),
  fc.record({ drop: fc.nat() }),
);

describe("collectionsByCluster", () => {
  it("equals the walk over every object, through random creates and drops", () => {
    fc.assert(
      fc.property(fc.array(ddl, { maxLength: 120 }), (ops) => {
        let byId = new Map<string, Resolved>();
        let next = 100;
        const held: Array<[Map<string, Resolved>, Resolved[][]]> = [];
        for (const op of ops) {
          const copy = new Map(byId);
          if ("drop" in op) {
            const ids = [...copy.keys()];
            if (ids.length > 0) copy.delete(ids[op.drop % ids.length]!);
          } else {
            const id = `u${next++}`;
            copy.set(id, {
              id,
              name: `${op.stem}#${next}`,
              kind: op.create,
              clusterId: op.cluster,
              arity: 1,
              key: [],
              inputs: [],
            });
          }
          byId = copy;
          expectSame(byId);
          // Asked again for the same map: the same lists (derived once), still exact.
          expect(collectionsByCluster(byId)).toBe(collectionsByCluster(byId));
          if (next % 10 === 0) held.push([byId, CLUSTERS.map((c) => walk(byId, c))]);
        }
        // An older map a reader still holds keeps its own lists.
        for (const [old, lists] of held) {
          expect(CLUSTERS.map((c) => collectionsByCluster(old).get(c) ?? [])).toEqual(lists);
        }
      }),
      { seed: 16, numRuns: 200 },
    );
  });
});
