import { type ClusterCommand, createHello } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { ClusterCommandHistory } from "./cluster-history.js";
import { computeReduction, storageReduction } from "./reduction-rules.js";
import { ingestion as ingestionOf, peekOf } from "./testdata/objects.js";

const hello = createHello(1n);
const c = (command: ClusterCommand["command"] & { kind: string }, kind: "compute" | "storage") =>
  ({ kind, command }) as ClusterCommand;

const ingestion = (id: string): ClusterCommand =>
  c({ kind: "runIngestion", id, description: ingestionOf(`${id}0`) }, "storage");

describe("ClusterCommandHistory", () => {
  it("one log, one reduction: storage then compute, each in the protocol's order", () => {
    const h = new ClusterCommandHistory();
    h.push(c({ kind: "hello", hello }, "compute"));
    h.push(c({ kind: "hello", hello }, "storage"));
    h.push(c({ kind: "initializationComplete" }, "compute"));
    h.push(ingestion("u1"));
    h.push(c({ kind: "allowCompaction", id: "u1", frontier: null }, "storage"));
    h.push(ingestion("u2"));
    expect(h.commands().map((x) => `${x.kind}.${x.command.kind}`)).toEqual([
      "storage.hello",
      "storage.runIngestion",
      "compute.hello",
      "compute.initializationComplete",
    ]);
    expect(h.sizes()).toEqual({ compute: 2, storage: 2 });
  });

  it("reduces when the log doubles: its size stays bounded by the live objects", () => {
    const h = new ClusterCommandHistory();
    h.push(c({ kind: "hello", hello }, "storage"));
    let max = 0;
    for (let i = 0; i < 1000; i++) {
      h.push(ingestion(`u${i + 10}`));
      h.push(c({ kind: "allowCompaction", id: `u${i + 10}`, frontier: null }, "storage"));
      max = Math.max(max, h.size);
    }
    // One live command (the hello): the log never holds more than 2 × 1 + the pushed pair.
    expect(max).toBeLessThanOrEqual(4);
    expect(h.commands()).toHaveLength(1);
  });

  it("an answered peek is left out of the next reduction", () => {
    const h = new ClusterCommandHistory();
    h.push(c({ kind: "peek", peek: peekOf("p1", "u1", 1n) }, "compute"));
    expect(h.commands()).toHaveLength(1);
    h.retirePeek("p1");
    expect(h.commands()).toHaveLength(0);
  });

  it("applies the rules it is given (the equivalence test injects a wrong one)", () => {
    let calls = 0;
    const h = new ClusterCommandHistory({
      compute: {
        reduce: (cmds, r) => {
          calls++;
          return computeReduction.reduce(cmds, r);
        },
      },
      storage: storageReduction,
    });
    h.push(c({ kind: "hello", hello }, "compute"));
    h.commands();
    expect(calls).toBe(2);
  });
});
