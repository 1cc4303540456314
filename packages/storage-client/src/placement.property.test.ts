/**
 * Properties of `IngestionPlacement` under random replica churn: a single-replica object runs on
 * exactly one present replica (none only when there are no replicas), its choice changes only
 * when its replica is removed and then becomes the smallest id left; multi-replica objects run on
 * every replica; paused objects are exactly those with no replica.
 */
import { fc, test } from "@fast-check/vitest";
import { ReplicaId } from "@mzts/repr";
import { describe, expect } from "vitest";
import { IngestionPlacement } from "./placement.js";

type Step =
  | { t: "add"; replica: number }
  | { t: "remove"; pick: number }
  | { t: "object"; single: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ t: fc.constant("add" as const), replica: fc.nat(20) }),
  fc.record({ t: fc.constant("remove" as const), pick: fc.nat() }),
  fc.record({ t: fc.constant("object" as const), single: fc.boolean() }),
);

describe("IngestionPlacement properties", () => {
  test.prop([fc.array(step, { maxLength: 60 })], { numRuns: 200 })(
    "placement stays valid, sticky and smallest-on-decision under churn",
    (steps) => {
      const p = new IngestionPlacement();
      const kinds = new Map<string, boolean>(); // id → single?
      let next = 1;
      let before = new Map<string, readonly string[]>();
      for (const s of steps) {
        let removed: string | undefined;
        if (s.t === "add") {
          const r = `u${s.replica}`;
          if (p.replicas().includes(r)) continue;
          p.addReplica(r);
        } else if (s.t === "remove") {
          const rs = p.replicas();
          removed = rs[s.pick % Math.max(1, rs.length)];
          if (removed === undefined) continue;
          const moves = p.removeReplica(removed);
          for (const m of moves) {
            expect(kinds.get(m.objectId)).toBe(true);
            expect(m.to).toBe(p.replicas()[0] ?? null);
          }
        } else {
          const id = `u${next++}`;
          kinds.set(id, s.single);
          p.addObject(id, { preference: s.single ? "singleReplica" : "multiReplica" });
        }
        const replicas = p.replicas();
        expect([...replicas].sort(ReplicaId.compare)).toEqual(replicas);
        const after = new Map<string, readonly string[]>();
        for (const [id, single] of kinds) {
          const on = p.replicasFor(id);
          after.set(id, on);
          if (!single) {
            expect(on).toEqual(replicas);
            continue;
          }
          expect(on.length).toBe(replicas.length === 0 ? 0 : 1);
          if (on[0] !== undefined) expect(replicas).toContain(on[0]);
          const prev = before.get(id);
          const prevReplica = prev?.[0];
          if (prevReplica !== undefined && prevReplica !== removed) {
            expect(on).toEqual(prev); // sticky
          } else if (on[0] !== undefined && (prev === undefined || prevReplica === removed)) {
            // Decided now (new object or its replica left): the smallest present.
            expect(on[0]).toBe(replicas[0]);
          }
        }
        const paused = [...kinds.keys()].filter((id) => p.replicasFor(id).length === 0);
        expect(p.pausedObjects()).toEqual(paused);
        before = after;
      }
    },
  );
});
