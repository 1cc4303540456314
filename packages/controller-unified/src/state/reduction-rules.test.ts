import {
  type ComputeCommand,
  ComputeCommandHistory,
  createHello,
  type StorageCommand,
  StorageCommandHistory,
} from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { computeReduction, storageReduction } from "./reduction-rules.js";
import { ingestion, peekOf } from "./testdata/objects.js";

const hello = createHello(1n);
const dataflow = (id: string, asOf: bigint): ComputeCommand => ({
  kind: "createDataflow",
  dataflow: {
    debugName: id,
    sourceImports: [],
    indexImports: [],
    objectsToBuild: [],
    indexExports: [{ id, objectId: id, key: [] }],
    sinkExports: [],
    asOf,
    until: null,
  },
});

describe("the reduction rules are the protocol's", () => {
  it("compute: the same as ComputeCommandHistory fed the same commands", () => {
    const commands: ComputeCommand[] = [
      { kind: "hello", hello },
      dataflow("u1", 1n),
      { kind: "schedule", id: "u1" },
      dataflow("u2", 1n),
      { kind: "allowCompaction", id: "u1", frontier: 5n },
      { kind: "allowCompaction", id: "u2", frontier: null },
    ];
    const h = new ComputeCommandHistory();
    for (const c of commands) h.push(c);
    expect(computeReduction.reduce(commands, new Set())).toEqual(h.commands());
    expect(computeReduction.reduce(commands, new Set()).map((c) => c.kind)).toEqual([
      "hello",
      "createDataflow",
      "schedule",
    ]);
  });

  it("compute: a retired peek is left out", () => {
    const peek: ComputeCommand = { kind: "peek", peek: peekOf("p", "u1", 1n) };
    const commands = [dataflow("u1", 1n), peek];
    expect(computeReduction.reduce(commands, new Set()).map((c) => c.kind)).toContain("peek");
    expect(computeReduction.reduce(commands, new Set(["p"])).map((c) => c.kind)).not.toContain(
      "peek",
    );
  });

  it("storage: the same as StorageCommandHistory fed the same commands", () => {
    const commands: StorageCommand[] = [
      { kind: "hello", hello },
      { kind: "runIngestion", id: "u1", description: ingestion("u2") },
      { kind: "allowCompaction", id: "u1", frontier: null },
      { kind: "initializationComplete" },
    ];
    const h = new StorageCommandHistory();
    for (const c of commands) h.push(c);
    h.reduce();
    expect(storageReduction.reduce(commands, new Set())).toEqual(h.commands());
    expect(storageReduction.reduce(commands, new Set()).map((c) => c.kind)).toEqual([
      "hello",
      "initializationComplete",
    ]);
  });
});
