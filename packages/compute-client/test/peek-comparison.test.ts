/**
 * Peek comparison in a migrating cluster (`peek-comparison.ts`, docs/design/
 * 20261207_migration_stages.md), with in-memory replicas: u1 on the legacy path, u2 on the unified
 * one.
 * - the authoritative path's answer settles the caller; the other's is compared, and the peek is
 *   canceled (and its hold released) only after both answered;
 * - an answer of the other path that comes first is held, never served while the authoritative
 *   path is connected; it is served (fallback) when that path is down or the caller's time runs out;
 * - differences and timeouts are counted and logged; dualwrite serves without comparing;
 * - the pure row comparison (multisets with counts).
 */
import type { ComputeResponse } from "@mzts/protocol";
import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  type ComparisonRecord,
  type ComputeController,
  createComputeController,
  diffRows,
  type PathSplit,
} from "../src/index.js";
import {
  type FakeReplicas,
  fakeReplicas,
  lastPeek,
  respond,
  withIndexOnTwoReplicas,
} from "./fake-replicas.js";

interface Setup {
  readonly c: ComputeController;
  readonly fake: FakeReplicas;
  readonly registry: Registry;
  readonly logs: Array<{ msg: string; difference?: string }>;
  readonly records: ComparisonRecord[];
}

async function setup(split: Partial<PathSplit> = {}): Promise<Setup> {
  const fake = fakeReplicas();
  const registry = new Registry();
  const logs: Setup["logs"] = [];
  const records: ComparisonRecord[] = [];
  const logger = pino(
    { level: "info" },
    { write: (line: string) => logs.push(JSON.parse(line) as Setup["logs"][number]) },
  );
  const c = createComputeController({ generation: 1n, logger, registry, compactionWindowMs: 0n });
  const pathSplit: PathSplit = {
    phase: "servers",
    authoritative: "legacy",
    compare: true,
    slotOf: (r) => (r === "u1" ? "legacy" : r === "u2" ? "unified" : undefined),
    timeoutMs: 100,
    ...split,
  };
  c.createInstance(
    "c1",
    { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
    {
      connector: fake.connector,
      pathSplit: () => pathSplit,
      onComparison: (r) => records.push(r),
    },
  );
  await withIndexOnTwoReplicas(c, fake);
  return { c, fake, registry, logs, records };
}

const rows = (uuid: string, values: bigint[]): ComputeResponse => ({
  kind: "peekResponse",
  uuid,
  response: { kind: "rows", rows: values.map((v) => [[v], 1] as const) },
});

const canceled = (fake: FakeReplicas, uuid: string) =>
  fake.of("u1").sent.some((c) => c.kind === "cancelPeek" && c.uuid === uuid);

async function counts(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric("mz_cluster_unification_comparisons_total")?.get();
  return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels.result), v.value]));
}

describe("peek comparison in a migrating cluster", () => {
  it("serves the authoritative answer and compares the other before canceling", async () => {
    const { c, fake, registry } = await setup();
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u1");
    respond(fake, "u1", [rows(uuid, [1n])]);
    expect((await answer).replicaId).toBe("u1");
    // The other path has not answered: the peek is not canceled yet.
    expect(canceled(fake, uuid)).toBe(false);
    respond(fake, "u2", [rows(uuid, [1n])]);
    expect(canceled(fake, uuid)).toBe(true);
    expect(await counts(registry)).toEqual({ consistent: 1 });
    await c.close();
  });

  it("holds an answer of the other path that comes first, and counts a difference", async () => {
    const { c, fake, registry, logs, records } = await setup();
    let settled = false;
    const answer = c.peek("c1", { target: "u31", timestamp: 5n }).finally(() => {
      settled = true;
    });
    const uuid = lastPeek(fake, "u1");
    respond(fake, "u2", [rows(uuid, [1n, 2n])]);
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    respond(fake, "u1", [rows(uuid, [1n])]);
    const a = await answer;
    expect(a.replicaId).toBe("u1");
    expect(a.rows).toEqual([[[1n], 1]]);
    expect(await counts(registry)).toEqual({ inconsistent: 1 });
    expect(records).toEqual([
      expect.objectContaining({
        result: "inconsistent",
        servedBy: "legacy",
        latencyMs: { legacy: expect.any(Number), unified: expect.any(Number) },
      }),
    ]);
    expect(logs.some((l) => /paths differ/.test(l.msg) && /\(2\)/.test(l.difference ?? ""))).toBe(
      true,
    );
    await c.close();
  });

  it("live: the unified path settles, and a silent legacy replica times the comparison out", async () => {
    const { c, fake, registry } = await setup({ authoritative: "unified" });
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u2");
    respond(fake, "u2", [rows(uuid, [1n])]);
    expect((await answer).replicaId).toBe("u2");
    expect(canceled(fake, uuid)).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(canceled(fake, uuid)).toBe(true);
    expect(await counts(registry)).toEqual({ timeout: 1 });
    await c.close();
  });

  it("falls back to the other path when the authoritative one is down or the caller's time runs out", async () => {
    const { c, fake, registry } = await setup();
    // The authoritative replica's incarnation fails: its path has no connected replica.
    fake.of("u1").opts.onFailed(fake.of("u1").opts.epoch, new Error("gone"));
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u2");
    respond(fake, "u2", [rows(uuid, [1n])]);
    expect((await answer).replicaId).toBe("u2");
    expect(await counts(registry)).toEqual({ fallback: 1 });
    await c.close();

    const again = await setup();
    const slow = again.c.peek("c1", { target: "u31", timestamp: 5n, timeoutMs: 50 });
    respond(again.fake, "u2", [rows(lastPeek(again.fake, "u2"), [1n])]);
    expect((await slow).replicaId).toBe("u2");
    expect(await counts(again.registry)).toEqual({ fallback: 1 });
    await again.c.close();
  });

  it("the perturbOther test hook makes equal answers differ, never touching the served one", async () => {
    const { c, fake, registry, records } = await setup({
      perturbOther: (o) =>
        o.result === "rows" ? { ...o, rows: [...o.rows, [[99n], 1] as const] } : o,
    });
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u1");
    respond(fake, "u2", [rows(uuid, [1n])]);
    respond(fake, "u1", [rows(uuid, [1n])]);
    expect((await answer).rows).toEqual([[[1n], 1]]);
    expect(await counts(registry)).toEqual({ inconsistent: 1 });
    expect(records[0]?.difference).toMatch(/\(99\)/);
    await c.close();
  });

  it("counts each path's error answers", async () => {
    const { c, fake, registry, records } = await setup();
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u1");
    respond(fake, "u1", [rows(uuid, [1n])]);
    await answer;
    respond(fake, "u2", [
      { kind: "peekResponse", uuid, response: { kind: "error", message: "boom" } },
    ]);
    expect(records[0]).toMatchObject({ result: "inconsistent", errors: ["unified"] });
    const m = await registry.getSingleMetric("mz_cluster_unification_path_errors_total")?.get();
    expect(m?.values.map((v) => [v.labels.path, v.value])).toEqual([["unified", 1]]);
    await c.close();
  });

  it("dualwrite serves the authoritative answer without comparing or waiting", async () => {
    const { c, fake, registry } = await setup({ compare: false });
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u1");
    respond(fake, "u1", [rows(uuid, [1n])]);
    await answer;
    expect(canceled(fake, uuid)).toBe(true);
    expect(await counts(registry)).toEqual({});
    await c.close();
  });
});

describe("diffRows", () => {
  it("compares multisets with counts, in any order", () => {
    expect(
      diffRows(
        [
          [[1n], 2],
          [[2n], 1],
        ],
        [
          [[2n], 1],
          [[1n], 1],
          [[1n], 1],
        ],
      ),
    ).toBeUndefined();
    expect(diffRows([[[1n], 2]], [[[1n], 1]])).toMatch(
      /1 row\(s\) differ; first: \(1\) occurs 1 more time/,
    );
    expect(diffRows([], [[["a"], 1]])).toMatch(/other answer/);
  });
});
