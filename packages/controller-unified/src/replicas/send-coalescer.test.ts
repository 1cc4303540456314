/**
 * `SendCoalescer`: one flush per event-loop turn, in order; `flushNow` and `discard`; and the
 * unified replica task behind it sends one turn's commands in one stream message (the seam check
 * `measureCoalescing`, which the legacy compute task runs too).
 */
import { describe, expect, it } from "vitest";
import { testComputeProtocol } from "../testdata/fake-replica.js";
import { measureCoalescing } from "../testing/coalescing.js";
import { createReplicaTaskConnector } from "./replica-task.js";
import { SendCoalescer } from "./send-coalescer.js";

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("SendCoalescer", () => {
  it("flushes one turn's commands once, in order, at the end of the turn", async () => {
    const flushed: number[][] = [];
    const c = new SendCoalescer<number>((cs) => flushed.push([...cs]));
    c.add([1]);
    c.add([2, 3]);
    c.add([]);
    expect(flushed).toEqual([]);
    expect(c.pending).toBe(3);
    await turn();
    expect(flushed).toEqual([[1, 2, 3]]);
    c.add([4]);
    await turn();
    expect(flushed).toEqual([[1, 2, 3], [4]]);
    await turn();
    expect(flushed).toHaveLength(2); // nothing pending: no empty flush
  });

  it("flushNow writes at once; discard drops what is pending and its flush", async () => {
    const flushed: number[][] = [];
    const c = new SendCoalescer<number>((cs) => flushed.push([...cs]));
    c.add([1]);
    c.flushNow();
    expect(flushed).toEqual([[1]]);
    c.add([2]);
    c.discard();
    await turn();
    expect(flushed).toEqual([[1]]);
    c.add([3]);
    await turn();
    expect(flushed).toEqual([[1], [3]]);
  });

  it("the unified replica task sends 20 sends of one turn in one message", async () => {
    const report = await measureCoalescing(createReplicaTaskConnector(testComputeProtocol), 20);
    expect(report).toEqual({ messages: 1, commands: 20 });
  });
});
