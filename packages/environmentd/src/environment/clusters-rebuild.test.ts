/**
 * `Clusters.rebuild` when the new controller fails halfway (a live flip of `state`): the
 * half-built controller is discarded and the rebuild retried with backoff, with calls naming the
 * cluster held (`ready`) until a complete controller is in place; when every attempt fails the
 * cluster is left without a controller (never on a half-built one: calls fail with the retryable
 * `ClusterControllerMissing`) and the next rebuild (the next flip) succeeds.
 *
 * The legacy path over the in-memory fakes (`testdata/cluster-controllers/legacy-cluster.ts`):
 * the cluster under test is `u2` on the fixture's compute and storage controllers (no replicas:
 * nothing connects).
 */
import type { ClusterController } from "@mzts/controller-unified/state";
import { PhaseSet } from "@mzts/flags";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterControllerMissing } from "../errors.js";
import { legacyClusters } from "../testdata/cluster-controllers/legacy-clusters.js";
import { settles } from "../testdata/settles.js";

const CLUSTER = { id: "u2", options: {} };
const FAST = { attempts: 3, initialMs: 20, maxMs: 40 };

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const { clusters, parts, close } = legacyClusters((id) => PhaseSet.of(id, {}));
  cleanup.push(close);
  await clusters.build(CLUSTER);
  return { clusters, parts, old: clusters.controllerOf(CLUSTER.id) };
}

describe("Clusters.rebuild, a new controller failing halfway", () => {
  it("discards the half-built controller and retries; callers wait for the complete one", async () => {
    const { clusters, old } = await setup();
    const ranOn: ClusterController[] = [];
    const waiters: Array<Promise<void>> = [];
    const rebuilt = clusters.rebuild(
      CLUSTER,
      async (_old, attempt) => {
        const current = clusters.controllerOf(CLUSTER.id);
        ranOn.push(current);
        // A call naming the cluster now waits, whichever attempt runs.
        waiters.push(clusters.ready(CLUSTER.id));
        if (attempt === 1) throw new Error("injected: reinstall failed halfway");
      },
      0,
      FAST,
    );
    await expect(rebuilt).resolves.toEqual({ from: "legacy", to: "legacy" });
    expect(ranOn).toHaveLength(2);
    const [half, complete] = ranOn as [ClusterController, ClusterController];
    expect(half).not.toBe(old);
    expect(complete).not.toBe(half);
    expect(clusters.controllerOf(CLUSTER.id)).toBe(complete);
    // The half-built one is retired like the old one (its calls' failures read as rebuilt).
    expect(clusters.wasRebuilt(half)).toBe(true);
    expect(clusters.wasRebuilt(old)).toBe(true);
    expect(clusters.wasRebuilt(complete)).toBe(false);
    // Nobody got through while the half-built controller was the cluster's.
    expect(await Promise.all(waiters.map((w) => settles(w)))).toEqual([true, true]);
  });

  it("holds callers across the backoff between attempts", async () => {
    const { clusters } = await setup();
    let failed!: () => void;
    const firstFailed = new Promise<void>((r) => {
      failed = r;
    });
    let release!: () => void;
    const secondMayFinish = new Promise<void>((r) => {
      release = r;
    });
    const rebuilt = clusters.rebuild(
      CLUSTER,
      async (_old, attempt) => {
        if (attempt === 1) {
          failed();
          throw new Error("injected: reinstall failed halfway");
        }
        await secondMayFinish;
      },
      0,
      FAST,
    );
    await firstFailed;
    // Between the failed attempt and the end of the next one: the gate stays up.
    expect(await settles(clusters.ready(CLUSTER.id))).toBe(false);
    release();
    await rebuilt;
    expect(await settles(clusters.ready(CLUSTER.id))).toBe(true);
  });

  it("when every attempt fails: no controller (not a half-built one), and the next rebuild works", async () => {
    const { clusters, old } = await setup();
    let attempts = 0;
    const failing = clusters.rebuild(
      CLUSTER,
      async () => {
        attempts++;
        throw new Error(`injected: attempt ${attempts} failed halfway`);
      },
      0,
      FAST,
    );
    await expect(failing).rejects.toThrow(/attempt 3 failed halfway/);
    expect(attempts).toBe(3);
    expect(() => clusters.controllerOf(CLUSTER.id, "peek")).toThrow(ClusterControllerMissing);
    expect(clusters.findController(CLUSTER.id)).toBeUndefined();
    expect(clusters.wasRebuilt(old)).toBe(true);
    expect(await settles(clusters.ready(CLUSTER.id))).toBe(true);
    // The flip still sees what the cluster ran, so it plans the rebuild again.
    expect(clusters.selection(CLUSTER.id)?.phases.takesEffect("state")).toBe(false);

    // The next flip rebuilds it (the old controller is not closed twice).
    await expect(clusters.rebuild(CLUSTER, async () => {}, 0, FAST)).resolves.toEqual({
      from: "legacy",
      to: "legacy",
    });
    const now = clusters.controllerOf(CLUSTER.id);
    expect(now).not.toBe(old);
    expect(clusters.wasRebuilt(now)).toBe(false);
  });
  it("a legacy build failing between its compute and storage instances is retried cleanly", async () => {
    const { clusters, parts } = await setup();
    const create = parts.storage.createInstance.bind(parts.storage);
    let calls = 0;
    parts.storage.createInstance = (id, options) => {
      calls++;
      // The first attempt fails after the compute instance was created.
      if (calls === 1) throw new Error("injected: storage createInstance failed");
      create(id, options);
    };
    // Before: the retry met the first attempt's compute instance (InstanceExists) every time.
    await expect(clusters.rebuild(CLUSTER, async () => {}, 0, FAST)).resolves.toEqual({
      from: "legacy",
      to: "legacy",
    });
    expect(calls).toBe(2);
    expect(clusters.findController(CLUSTER.id)).toBeDefined();
  });
});
