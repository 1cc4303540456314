/**
 * `PeekOutcomeMetrics` (issue 16) scrapes exactly as the labelled prom-client `Counter` and
 * `Histogram` it replaced: the same observations give the same exposition lines (and the same
 * `get()` values), series appear once their first peek settled, and `resetMetrics` clears them.
 */
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  PEEK_DURATION_BUCKETS,
  PeekOutcomeMetrics,
  type PeekResult,
} from "./peek-outcome-metrics.js";

const lines = async (r: Registry) =>
  (await r.metrics())
    .split("\n")
    .filter((l) => l !== "")
    .map((l) =>
      // label order aside
      l.replace(/\{([^}]*)\}/, (_m, inner: string) => `{${inner.split(",").sort().join(",")}}`),
    )
    .sort();

describe("PeekOutcomeMetrics", () => {
  it("scrapes as the labelled Counter and Histogram did", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const metrics = new PeekOutcomeMetrics(ours);
    const total = new Counter({
      name: "mz_compute_peeks_total",
      help: "The number of peeks finished, by result.",
      labelNames: ["instance_id", "result"] as const,
      registers: [theirs],
    });
    const duration = new Histogram({
      name: "mz_compute_peek_duration_seconds",
      help: "Time from a peek being issued to its result, by result.",
      labelNames: ["instance_id", "result"] as const,
      buckets: [...PEEK_DURATION_BUCKETS],
      registers: [theirs],
    });
    expect(await lines(ours)).toEqual(await lines(theirs));
    const seen: [string, PeekResult, number][] = [
      ["u1", "rows", 0.0003],
      ["u1", "rows", 0.0005], // on a bound: in that bucket
      ["u1", "rows", 0.0011],
      ["u1", "canceled", 10],
      ["u1", "rows", 40], // above the last bound
      ["u2", "error", 0.25],
      ["u2", "rows", 0],
    ];
    for (const [instance_id, result, s] of seen) {
      metrics.record(instance_id, result, s);
      total.inc({ instance_id, result });
      duration.observe({ instance_id, result }, s);
    }
    expect(await lines(ours)).toEqual(await lines(theirs));
    expect((await lines(ours)).some((l) => l.includes('result="error"') && l.includes("u1"))).toBe(
      false,
    );
    const count = await ours.getSingleMetric("mz_compute_peeks_total")?.get();
    expect(
      count?.values.find((v) => v.labels.result === "rows" && v.labels.instance_id === "u1")?.value,
    ).toBe(4);
    const open = (r: Registry) =>
      (r as unknown as Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>).setContentType(
        Registry.OPENMETRICS_CONTENT_TYPE,
      );
    open(ours);
    open(theirs);
    expect(await lines(ours)).toEqual(await lines(theirs));
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await lines(ours)).toEqual(await lines(theirs));
  });
});
