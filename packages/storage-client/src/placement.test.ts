/**
 * Unit tests of `IngestionPlacement`: smallest-id choice, stickiness, re-decision when the
 * chosen replica leaves, multi-replica objects everywhere, the replay filter and pausing.
 */
import { StorageCommandHistory } from "@mzts/protocol";
import {
  allowWrites,
  compaction,
  config,
  hello,
  initializationComplete,
  runIngestion,
  runSink,
} from "@mzts/protocol/testing/storage-commands";
import { describe, expect, it } from "vitest";
import {
  CollectionExists,
  ControllerError,
  InvalidReplicaId,
  PlacementConflict,
  ReplicaExists,
  ReplicaMissing,
} from "./errors.js";
import { IngestionPlacement, objectIdOf, placedObjectOf } from "./placement.js";

const single = { preference: "singleReplica" } as const;
const multi = { preference: "multiReplica" } as const;

describe("IngestionPlacement", () => {
  it("runs a single-replica object on the smallest replica id (numerically)", () => {
    const p = new IngestionPlacement(["u10", "u9", "u2"]);
    expect(p.replicas()).toEqual(["u2", "u9", "u10"]);
    expect(p.addObject("u1", single)).toEqual(["u2"]);
    expect(p.replicasFor("u1")).toEqual(["u2"]);
  });

  it("keeps the choice when a smaller replica joins later", () => {
    const p = new IngestionPlacement(["u5"]);
    p.addObject("u1", single);
    expect(p.addReplica("u3")).toEqual([]);
    expect(p.replicasFor("u1")).toEqual(["u5"]);
    // A new object decides now, and picks the new smallest.
    expect(p.addObject("u2", single)).toEqual(["u3"]);
  });

  it("re-decides when the chosen replica leaves, and reports the move", () => {
    const p = new IngestionPlacement(["u5"]);
    p.addObject("u1", single);
    p.addObject("u7", multi);
    p.addReplica("u8");
    p.addReplica("u6");
    expect(p.removeReplica("u8")).toEqual([]); // nothing ran only there
    expect(p.replicasFor("u1")).toEqual(["u5"]);
    expect(p.removeReplica("u5")).toEqual([{ objectId: "u1", from: "u5", to: "u6" }]);
    expect(p.replicasFor("u1")).toEqual(["u6"]);
    expect(p.replicasFor("u7")).toEqual(["u6"]);
  });

  it("runs multi-replica objects on every replica, including later ones", () => {
    const p = new IngestionPlacement(["u1", "u2"]);
    expect(p.addObject("u10", { preference: "multiReplica", collectionIds: ["u11"] })).toEqual([
      "u1",
      "u2",
    ]);
    p.addObject("u20", single);
    expect(p.addReplica("u3")).toEqual(["u10"]);
    expect(p.replicasFor("u11")).toEqual(["u1", "u2", "u3"]);
    p.removeReplica("u2");
    expect(p.replicasFor("u10")).toEqual(["u1", "u3"]);
  });

  it("maps subsources to their ingestion and sends unknown ids everywhere", () => {
    const p = new IngestionPlacement(["u1", "u2"]);
    p.addObject("u5", { preference: "singleReplica", collectionIds: ["u6"] });
    expect(p.replicasFor("u6")).toEqual(["u1"]);
    expect(p.replicasFor("u99")).toEqual(["u1", "u2"]);
    expect(p.isActiveOn("u6", "u2")).toBe(false);
    // Re-adding (an alteration) keeps the placement and updates the collections.
    p.addReplica("s1");
    expect(p.addObject("u5", { preference: "singleReplica", collectionIds: ["u7"] })).toEqual([
      "u1",
    ]);
    expect(p.replicasFor("u7")).toEqual(["u1"]);
    expect(p.replicasFor("u6")).toEqual(["s1", "u1", "u2"]);
    p.removeObject("u5");
    expect(p.replicasFor("u5")).toEqual(["s1", "u1", "u2"]);
  });

  it("filters a history for replay to one replica", () => {
    const history = new StorageCommandHistory();
    const commands = [
      hello(),
      config({ a: "1" }),
      runIngestion("u10", ["u11"]), // load generator: every replica
      runIngestion("u20", ["u21"]), // treated as single-replica below
      runSink("u30", "u10"), // sink: single replica
      compaction("u11", 4n),
      compaction("u21", 4n),
      compaction("u99", 4n), // stray: reduction drops it
      initializationComplete,
      allowWrites,
    ];
    for (const c of commands) history.push(c);
    history.reduce();

    const p = new IngestionPlacement(["u2", "u1"]);
    for (const c of history.commands()) {
      if (c.kind === "runIngestion" && c.id === "u20") {
        p.addObject(c.id, { preference: "singleReplica", collectionIds: ["u21"] });
      } else if (c.kind === "runIngestion" || c.kind === "runSink") {
        p.addObject(c.id, placedObjectOf(c));
      }
    }
    const ids = (r: string) =>
      p.commandsFor(r, history.commands()).map((c) => `${c.kind}${objectIdOf(c) ?? ""}`);
    expect(ids("u1")).toEqual([
      "hello",
      "updateConfiguration",
      "runIngestionu10",
      "runIngestionu20",
      "runSinku30",
      "allowCompactionu11",
      "allowCompactionu21",
      "initializationComplete",
      "allowWrites",
    ]);
    expect(ids("u2")).toEqual([
      "hello",
      "updateConfiguration",
      "runIngestionu10",
      "allowCompactionu11",
      "initializationComplete",
      "allowWrites",
    ]);
    // Commands for ids the placement does not know go to every replica.
    expect(p.commandsFor("u2", [compaction("u77", 1n)])).toEqual([compaction("u77", 1n)]);
    expect(() => p.commandsFor("u3", history.commands())).toThrow(ReplicaMissing);
  });

  it("pauses every object with zero replicas and resumes them on the next replica", () => {
    const p = new IngestionPlacement();
    expect(p.addObject("u1", single)).toEqual([]);
    expect(p.addObject("u2", multi)).toEqual([]);
    expect(p.pausedObjects()).toEqual(["u1", "u2"]);
    expect(p.addReplica("u4")).toEqual(["u1", "u2"]);
    expect(p.pausedObjects()).toEqual([]);
    expect(p.replicasFor("u1")).toEqual(["u4"]);
    // Dropping the last replica pauses them again; the single-replica object reports its move.
    expect(p.removeReplica("u4")).toEqual([{ objectId: "u1", from: "u4", to: null }]);
    expect(p.pausedObjects()).toEqual(["u1", "u2"]);
    expect(p.replicasFor("u1")).toEqual([]);
    // The next replica, even a larger id, picks the paused object up.
    expect(p.addReplica("u9")).toEqual(["u1", "u2"]);
    expect(p.replicasFor("u1")).toEqual(["u9"]);
  });

  it("throws narrow ControllerErrors on bad input", () => {
    const p = new IngestionPlacement(["u1"]);
    p.addObject("u5", { preference: "singleReplica", collectionIds: ["u6"] });
    expect(() => p.addReplica("u1")).toThrow(ReplicaExists);
    expect(() => p.addReplica("x1")).toThrow(InvalidReplicaId);
    expect(() => p.removeReplica("u2")).toThrow(ReplicaMissing);
    expect(() => p.addObject("u7", { preference: "multiReplica", collectionIds: ["u6"] })).toThrow(
      CollectionExists,
    );
    expect(() => p.addObject("u5", multi)).toThrow(PlacementConflict);
    let err: unknown;
    try {
      p.removeReplica("u2");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ControllerError);
    expect((err as Error).message).toMatch(/add it with addReplica\(\) first/);
  });
});
