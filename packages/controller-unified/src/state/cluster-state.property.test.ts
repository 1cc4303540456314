/**
 * ClusterState's own invariants under random work, including what the legacy path cannot
 * express (so `state-equivalence.property.test.ts` cannot compare it): views over indexes (a
 * dependant hold on a compute collection) and external read holds. After every operation:
 * - every since and write frontier only advanced;
 * - a collection's since never passes a hold on it: a live dataflow reading it (at the
 *   dataflow's since), a pending peek (at its time), an external hold;
 * - every replay rebuilds each dataflow at an as-of its live imports can still be read at;
 * - the history holds no more than the preamble plus a few commands per live object and peek.
 */

import { Frontier as F, type Frontier, type GlobalId } from "@mzts/repr";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClusterState } from "./cluster-state.js";
import type { ReadHold } from "./read-holds.js";
import { indexedView, ingestion, peekOf } from "./testdata/objects.js";

const LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };
const n = fc.nat({ max: 1000 });
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const opArb = fc.oneof(
  w(2, fc.record({ kind: fc.constant("source" as const) })),
  w(
    4,
    fc.record({
      kind: fc.constant("view" as const),
      on: fc.array(n, { minLength: 1, maxLength: 3 }),
      bump: fc.nat({ max: 2 }),
    }),
  ),
  w(1, fc.record({ kind: fc.constant("drop" as const), pick: n })),
  w(2, fc.record({ kind: fc.constant("peek" as const), pick: n, offset: fc.nat({ max: 3 }) })),
  w(2, fc.record({ kind: fc.constant("settle" as const), pick: n, replica: n })),
  w(4, fc.record({ kind: fc.constant("compact" as const), pick: n, delta: fc.nat({ max: 5 }) })),
  w(
    4,
    fc.record({
      kind: fc.constant("report" as const),
      pick: n,
      replica: n,
      delta: fc.nat({ max: 5 }),
      input: fc.boolean(),
    }),
  ),
  w(1, fc.record({ kind: fc.constant("hold" as const), pick: n })),
  w(
    1,
    fc.record({
      kind: fc.constant("moveHold" as const),
      pick: n,
      delta: fc.nat({ max: 4 }),
      release: fc.boolean(),
    }),
  ),
  w(
    1,
    fc.record({
      kind: fc.constant("replica" as const),
      op: fc.constantFrom("add", "drop", "reconnect"),
      pick: n,
    }),
  ),
  w(1, fc.record({ kind: fc.constant("tick" as const) })),
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

const at = <T>(xs: readonly T[], i: number): T | undefined =>
  xs.length === 0 ? undefined : xs[i % xs.length];

function run(ops: readonly Op[]): void {
  const s = new ClusterState({
    clusterId: "u1",
    generation: 1n,
    logging: LOGGING,
    compactionWindowMs: 2n,
  });
  const sources: GlobalId[] = [];
  const views = new Map<GlobalId, GlobalId[]>();
  const peeks = new Map<string, { target: GlobalId; ts: bigint }>();
  const holds: ReadHold[] = [];
  const replicas: string[] = [];
  const seen = new Map<GlobalId, { since: Frontier; write: Frontier }>();
  let next = 100;
  let nextReplica = 1;
  let now = 0;
  const epoch = (r: string) => s.health().find((h) => h.replicaId === r)?.epoch ?? 0;
  const live = () => [...sources, ...views.keys()].filter((id) => s.isLive(id));

  for (const op of ops) {
    now += 50;
    switch (op.kind) {
      case "source": {
        const id = `u${next++}`;
        const sub = `u${next++}`;
        s.createIngestion(id, ingestion(sub));
        sources.push(sub);
        break;
      }
      case "view": {
        const candidates = live();
        const on = [
          ...new Set(
            op.on.map((p) => at(candidates, p)).filter((x): x is GlobalId => x !== undefined),
          ),
        ];
        if (on.length === 0) break;
        let asOf = 0n;
        for (const i of on) asOf = F.join(asOf, s.frontiers(i).since) ?? asOf;
        const id = `u${next++}`;
        s.createDataflow(
          indexedView(
            id,
            asOf + BigInt(op.bump),
            on.filter((i) => sources.includes(i)),
            on.filter((i) => views.has(i)),
          ),
        );
        views.set(id, on);
        break;
      }
      case "drop": {
        const readers = new Set([...views].filter(([v]) => s.isLive(v)).flatMap(([, on]) => on));
        const id = at(
          live().filter((x) => !readers.has(x) && views.has(x)),
          op.pick,
        );
        if (id !== undefined) s.drop(id);
        break;
      }
      case "peek": {
        const target = at(
          [...views.keys()].filter((v) => s.isLive(v)),
          op.pick,
        );
        const since = target === undefined ? null : s.frontiers(target).since;
        if (target === undefined || since === null) break;
        const uuid = `p${next++}`;
        s.beginPeek(peekOf(uuid, target, since + BigInt(op.offset)));
        peeks.set(uuid, { target, ts: since + BigInt(op.offset) });
        break;
      }
      case "settle": {
        const uuid = at([...peeks.keys()], op.pick);
        if (uuid === undefined) break;
        const r = at(replicas, op.replica);
        if (r === undefined) s.finishPeek(uuid);
        else
          s.absorb(r, epoch(r), {
            kind: "compute",
            response: { kind: "peekResponse", uuid, response: { kind: "rows", rows: [] } },
          });
        peeks.delete(uuid);
        break;
      }
      case "compact": {
        const id = at(live(), op.pick);
        const since = id === undefined ? null : s.frontiers(id).since;
        if (id !== undefined && since !== null) s.allowCompaction(id, since + BigInt(op.delta));
        break;
      }
      case "report": {
        const r = at(replicas, op.replica);
        const id = at(live(), op.pick);
        if (r === undefined || id === undefined) break;
        const write = (s.frontiers(id).write ?? 0n) + BigInt(op.delta);
        if (sources.includes(id))
          s.absorb(r, epoch(r), {
            kind: "storage",
            response: { kind: "frontierUpper", id, upper: write },
          });
        else
          s.absorb(r, epoch(r), {
            kind: "compute",
            response: {
              kind: "frontiers",
              id,
              frontiers: op.input ? { write, input: write } : { write },
            },
          });
        break;
      }
      case "hold": {
        const id = at(live(), op.pick);
        const since = id === undefined ? null : s.frontiers(id).since;
        if (id !== undefined && since !== null) holds.push(s.acquireReadHold(id, since));
        break;
      }
      case "moveHold": {
        const h = at(holds, op.pick);
        if (h === undefined) break;
        if (op.release) {
          h.release();
          holds.splice(holds.indexOf(h), 1);
        } else if (h.frontier !== null) h.downgrade(h.frontier + BigInt(op.delta));
        break;
      }
      case "replica": {
        const r = at(replicas, op.pick);
        if (op.op === "add" || r === undefined) {
          const id = `u${nextReplica++}`;
          s.addReplica(id);
          s.replay(id);
          replicas.push(id);
        } else if (op.op === "drop") {
          s.dropReplica(r);
          replicas.splice(replicas.indexOf(r), 1);
        } else {
          s.failed(r, epoch(r), "churn");
          s.spawn(r);
          s.replay(r);
        }
        break;
      }
      case "tick":
        for (const d of s.tick(now).downgrades) s.sinceSettled(d.id, d.since, now);
        break;
    }
    s.takeOutbox();
    for (const e of s.takeEvents()) if (e.kind === "peekSettled") peeks.delete(e.uuid);

    // Monotone frontiers.
    for (const id of s.collectionIds()) {
      const f = s.frontiers(id);
      const prev = seen.get(id);
      if (prev !== undefined) {
        expect(F.lessEqual(prev.since, f.since), `${id} since moved back`).toBe(true);
        expect(F.lessEqual(prev.write, f.write), `${id} write moved back`).toBe(true);
      }
      seen.set(id, { since: f.since, write: f.write });
    }
    // No since passes a hold on it.
    for (const [v, on] of views) {
      if (!s.isLive(v)) continue;
      for (const i of on)
        expect(F.lessEqual(s.frontiers(i).since, s.frontiers(v).since), `${i} passed ${v}`).toBe(
          true,
        );
    }
    for (const p of peeks.values())
      expect(F.lessEqual(s.frontiers(p.target).since, p.ts)).toBe(true);
    for (const h of holds)
      if (s.has(h.collectionId))
        expect(F.lessEqual(s.frontiers(h.collectionId).since, h.frontier)).toBe(true);
    // Replays rebuild every dataflow where its live imports are readable.
    for (const c of s.history()) {
      if (c.kind !== "compute" || c.command.kind !== "createDataflow") continue;
      const df = c.command.dataflow;
      for (const i of [...df.sourceImports, ...df.indexImports]) {
        if (s.isLive(i.id))
          expect(
            F.lessEqual(s.frontiers(i.id).since, df.asOf),
            `replay of ${df.debugName} below ${i.id}`,
          ).toBe(true);
      }
    }
    // Bounded history: preamble + per live object a few commands + live peeks.
    expect(s.history().length).toBeLessThanOrEqual(6 + 4 * s.collectionIds().length + s.peekCount);
  }
}

describe("ClusterState invariants", () => {
  it("hold safety, monotone frontiers, valid replays and a bounded history under random work", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 30, maxLength: 80 }), (ops) => run(ops)),
      { numRuns: 200 },
    );
    // 200 runs of deterministic, CPU-bound work: 6.5 s at load 16 on a 2-core machine.
    // The budget covers a CI runner shared with other suites; a real hang still fails it.
  }, 120_000);
});
