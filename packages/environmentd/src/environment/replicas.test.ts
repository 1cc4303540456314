/**
 * `Replicas.rename`: a live flip's successor takes its old replica's name in the catalog
 * (`replaceReplica`); environmentd's own record of the running replica follows, so nothing that
 * reads it keeps seeing `<name>_pending`. A replica process coming online (restarted at the same
 * address or moved) is signalled to its controller, which connects at once (issue 16).
 */
import { PhaseSet } from "@mzts/flags";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Replicas, type ReplicasOptions } from "./replicas.js";

function replicas(updates: unknown[] = [], events: { emit?: (e: unknown) => void } = {}): Replicas {
  const controller = {
    path: "legacy",
    addReplica: () => {},
    dropReplica: async () => {},
    updateReplicaLocation: (id: string, location: unknown) => updates.push([id, location]),
  };
  const opts = {
    generation: 1n,
    orchestrator: {
      onEvent: (l: (e: unknown) => void) => {
        events.emit = l;
      },
      list: () => [],
      dropReplica: async () => {},
    },
    clusters: { controllerOf: () => controller, findController: () => controller },
    catalogGeneration: () => 1n,
    log: pino({ level: "silent" }),
  } as unknown as ReplicasOptions;
  return new Replicas(opts);
}

describe("Replicas.rename", () => {
  it("renames the running replica's record in place", () => {
    const r = replicas();
    const phases = PhaseSet.of("u1", {});
    const location = { computeUrl: "http://127.0.0.1:1", storageUrl: "http://127.0.0.1:2" };
    r.attach("u1", "u7", "r1_pending", 1, phases, location as never);
    const record = r.ofCluster("u1")[0];
    r.rename("u7", "r1");
    expect(r.ofCluster("u1").map((x) => x.name)).toEqual(["r1"]);
    // The same record object (health updates hold on to it).
    expect(r.ofCluster("u1")[0]).toBe(record);
    r.rename("u99", "nobody"); // an unknown replica: nothing happens
    expect(r.ofCluster("u1")).toHaveLength(1);
  });
});

describe("Replicas: a replica process online", () => {
  it("tells its controller at once, also at an unchanged address", () => {
    const updates: unknown[] = [];
    const events: { emit?: (e: unknown) => void } = {};
    const r = replicas(updates, events);
    const location = { computeUrl: "http://127.0.0.1:1", storageUrl: "http://127.0.0.1:2" };
    r.attach("u1", "u7", "r1", 1, PhaseSet.of("u1", {}), location as never);
    events.emit?.({ kind: "online", replicaId: "u7", pid: 42, location });
    expect(updates).toEqual([["u7", { layout: "two-port", ...location }]]);
    const moved = { computeUrl: "http://127.0.0.1:3", storageUrl: "http://127.0.0.1:4" };
    events.emit?.({ kind: "online", replicaId: "u7", pid: 43, location: moved });
    expect(updates).toHaveLength(2);
    expect(updates[1]).toEqual(["u7", { layout: "two-port", ...moved }]);
    events.emit?.({ kind: "online", replicaId: "u99", pid: 44, location }); // not attached
    expect(updates).toHaveLength(2);
  });
});
