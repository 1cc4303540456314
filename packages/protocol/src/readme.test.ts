/**
 * The README's usage snippets, run as tests (style §12): keep them in sync with README.md.
 */
import { describe, expect, it } from "vitest";
import {
  ComputeCommandHistory,
  checkHello,
  createHello,
  decodeComputeCommand,
  encodeComputeCommand,
  generateReplicaSecret,
  MalformedCommand,
  PartitionedComputeState,
  StaleGeneration,
  StorageCommandHistory,
  signHello,
  verifyHelloProof,
} from "./index.js";

describe("README", () => {
  it("Codecs", () => {
    const bytes = encodeComputeCommand({ kind: "allowCompaction", id: "u7", frontier: 1000n });
    expect(decodeComputeCommand(bytes)).toEqual({
      kind: "allowCompaction",
      id: "u7",
      frontier: 1000n,
    });
    let err: unknown;
    try {
      decodeComputeCommand(encodeComputeCommand({ kind: "schedule", id: "x" }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MalformedCommand);
    expect((err as Error).message).toMatch(
      /^malformed compute command schedule at schedule.id: "x" is not a GlobalId/,
    );
  });

  it("Hello and fencing", () => {
    const hello = createHello(7n);
    expect(() => checkHello(hello, 7n)).not.toThrow();
    expect(() => checkHello(hello, 8n)).toThrow(StaleGeneration);
    expect(StaleGeneration.catalog(1n, 2n, "createCluster")).toMatchObject({
      generation: 1n,
      currentGeneration: 2n,
      refusedBy: "catalog",
    });
    expect(StaleGeneration.orchestrator("u2", 1n, 2n).refusedBy).toBe("orchestrator");
  });

  it("Command histories", () => {
    const compute = new ComputeCommandHistory();
    compute.push({ kind: "hello", hello: createHello(1n) });
    compute.push({ kind: "allowCompaction", id: "u1", frontier: 5n }); // stray: no dataflow u1
    expect(compute.commands().map((c) => c.kind)).toEqual(["hello"]);
    const storage = new StorageCommandHistory();
    storage.push({ kind: "hello", hello: createHello(1n) });
    storage.push({ kind: "initializationComplete" });
    expect(storage.commands().map((c) => c.kind)).toEqual(["hello", "initializationComplete"]);
  });

  it("Authenticated hellos", () => {
    const secret = generateReplicaSecret();
    const signed = signHello(createHello(7n), secret, "compute");
    expect(verifyHelloProof(signed, secret, "compute")).toBe("valid");
    expect(verifyHelloProof(createHello(7n), secret, "compute")).toBe("missing");
    expect(verifyHelloProof(signed, generateReplicaSecret(), "compute")).toBe("mismatch");
  });

  it("Merging worker responses", () => {
    const merge = new PartitionedComputeState(2);
    expect(merge.absorb(0, { kind: "frontiers", id: "u1", frontiers: { write: 5n } })).toEqual([]);
    expect(merge.absorb(1, { kind: "frontiers", id: "u1", frontiers: { write: 3n } })).toEqual([
      { kind: "frontiers", id: "u1", frontiers: { write: 3n } },
    ]);
  });
});
