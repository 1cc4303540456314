import { createGraph, createInput } from "@mzts/dataflow";
import type { Update } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { ImportFeed } from "./import-feed.js";

/** A feed on a fresh graph, with a reader of its input's stream. */
function feedOf(asOf: bigint, until: bigint | null) {
  const input = createInput(createGraph(), "in");
  const port = input.output.connect();
  return { feed: new ImportFeed(input, asOf, until), port };
}

describe("ImportFeed.sendShared", () => {
  it("builds one input batch per shared array for every feed its range holds", () => {
    const event: Update[] = [
      [["a"], 5n, 1],
      [["z"], 5n, 0],
      [["b"], 6n, -1],
    ];
    const feeds = [feedOf(3n, null), feedOf(4n, 9n), feedOf(5n, null)];
    for (const { feed } of feeds) feed.sendShared(event);
    const batches = feeds.map(({ port }) => port.takeBatches());
    for (const b of batches) expect(b).toHaveLength(1);
    // One batch, shared: the event's row was not copied per dataflow.
    expect(batches[1]![0]).toBe(batches[0]![0]);
    expect(batches[2]![0]).toBe(batches[0]![0]);
    expect(batches[0]![0]!.toUpdates()).toEqual([
      [["a"], 5n, 1],
      [["b"], 6n, -1],
    ]);
  });

  it("forwards and drops like send when the range does not hold every update", () => {
    const event: Update[] = [
      [["a"], 5n, 1],
      [["b"], 8n, 1],
    ];
    const late = feedOf(6n, null);
    const short = feedOf(0n, 7n);
    late.feed.sendShared(event);
    short.feed.sendShared(event);
    expect(late.port.takeBatches().flatMap((b) => b.toUpdates())).toEqual([
      [["a"], 6n, 1],
      [["b"], 8n, 1],
    ]);
    expect(short.port.takeBatches().flatMap((b) => b.toUpdates())).toEqual([[["a"], 5n, 1]]);
    // A closed input takes nothing; an empty array sends nothing.
    const closed = feedOf(0n, null);
    closed.feed.close();
    closed.feed.sendShared(event);
    closed.feed.sendShared([]);
    expect(closed.port.takeBatches()).toHaveLength(0);
  });
});
