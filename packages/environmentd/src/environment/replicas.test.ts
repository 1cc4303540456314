/**
 * `Replicas.rename`: a live flip's successor takes its old replica's name in the catalog
 * (`replaceReplica`); environmentd's own record of the running replica follows, so nothing that
 * reads it keeps seeing `<name>_pending`.
 */
import { PhaseSet } from "@mzts/flags";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Replicas, type ReplicasOptions } from "./replicas.js";

function replicas(): Replicas {
  const controller = { path: "legacy", addReplica: () => {}, dropReplica: async () => {} };
  const opts = {
    generation: 1n,
    orchestrator: { onEvent: () => {}, list: () => [], dropReplica: async () => {} },
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
