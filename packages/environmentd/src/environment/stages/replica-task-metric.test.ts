/**
 * `mz_controller_replica_task`: a replica's series names the task its connection runs, counted
 * while connected — also when a `replicas` migration splits the cluster per replica task.
 */
import type { ReplicaConnectionOptions, ReplicaConnector } from "@mzts/controller-unified";
import { type PhasePath, PhaseSet } from "@mzts/flags";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { REPLICA_TASK_METRIC, ReplicaTaskMetric } from "./replica-task-metric.js";
import { perReplicaTask } from "./replica-tasks.js";

type Options = ReplicaConnectionOptions<unknown, unknown>;

/** A connector that connects at once (synchronously) and remembers its incarnations' options. */
function fakeTask() {
  const opened: Options[] = [];
  const retries = { count: 0 };
  const connector: ReplicaConnector<unknown, unknown> = (o) => {
    opened.push(o);
    let state: "connected" | "closed" = "connected";
    o.onConnected(o.epoch);
    return {
      epoch: o.epoch,
      get state() {
        return state;
      },
      send: () => {},
      retryNow: () => {
        retries.count++;
      },
      close: async () => {
        state = "closed";
      },
    };
  };
  return { connector, opened, retries };
}

const options = (replicaId: string, epoch = 1) =>
  ({
    instanceId: "u1",
    replicaId,
    epoch,
    onConnected: () => {},
    onFailed: () => {},
  }) as unknown as Options;

async function series(registry: Registry): Promise<string[]> {
  const m = await registry.getSingleMetric(REPLICA_TASK_METRIC)?.get();
  return (m?.values ?? [])
    .map((v) => `${v.labels.replica_id} ${v.labels.workload} ${v.labels.task}=${v.value}`)
    .sort();
}

describe("ReplicaTaskMetric", () => {
  it("in a replicas shadow stage each replica's series names its slot's task", async () => {
    const registry = new Registry();
    const metric = new ReplicaTaskMetric(registry);
    const legacy = fakeTask();
    const unified = fakeTask();
    const slots = new Map<string, PhasePath>([
      ["u2", "legacy"],
      ["u3", "unified"],
    ]);
    const connect = perReplicaTask(
      PhaseSet.of("u1", { replicas: "shadow" }),
      (r) => slots.get(r),
      (p) => {
        const task: PhasePath = p.takesEffect("replicas") ? "unified" : "legacy";
        return metric.observe("compute", task, (task === "unified" ? unified : legacy).connector);
      },
    );
    const u2 = connect(options("u2"));
    connect(options("u3"));
    expect(await series(registry)).toEqual(["u2 compute legacy=1", "u3 compute unified=1"]);
    expect(legacy.opened.map((o) => o.replicaId)).toEqual(["u2"]);
    expect(unified.opened.map((o) => o.replicaId)).toEqual(["u3"]);
    // A failure uncounts; the close that follows does not uncount again.
    legacy.opened[0]?.onFailed(1, new Error("gone"));
    await u2.close();
    expect(await series(registry)).toEqual(["u2 compute legacy=0", "u3 compute unified=1"]);
    // The next incarnation counts again; the instance still hears its callbacks.
    let connected = 0;
    connect({ ...options("u2", 2), onConnected: () => connected++ } as Options);
    expect(connected).toBe(1);
    expect(await series(registry)).toEqual(["u2 compute legacy=1", "u3 compute unified=1"]);
  });

  it("keeps the task's rehydration policy, and a second registration reuses the gauge", async () => {
    const registry = new Registry();
    const { connector } = fakeTask();
    const rehydration = { forReplica: () => ({ started() {}, failed() {}, cancel() {} }) };
    const withPolicy = Object.assign(connector, { rehydration }) as never;
    const observed = new ReplicaTaskMetric(registry).observe("storage", "unified", withPolicy);
    expect(observed.rehydration).toBe(rehydration);
    const again = new ReplicaTaskMetric(registry).observe("storage", "unified", connector);
    await again(options("u5")).close();
    expect(await series(registry)).toEqual(["u5 storage unified=0"]);
  });

  it("passes retryNow through, so a restarted replica is tried at once (issue 16)", () => {
    const task = fakeTask();
    const connect = new ReplicaTaskMetric(new Registry()).observe(
      "compute",
      "legacy",
      task.connector,
    );
    connect(options("u2")).retryNow?.();
    expect(task.retries.count).toBe(1);
  });
});
