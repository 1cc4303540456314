// PHASE(servers): legacy — delete when cluster-unification-servers is retired
import { createInMemoryExchange } from "@mzts/dataflow";
import { describe, expect, it } from "vitest";
import { type ChannelItem, CommandChannel, decodeItem, encodeItem } from "./command-channel.js";

describe("legacy command channel", () => {
  it("releases worker 0's items to every worker in one order, only once progress passes them", () => {
    const W = 3;
    const ex = createInMemoryExchange(W, { immediate: false, clone: true });
    const chans = Array.from(
      { length: W },
      (_, w) => new CommandChannel(ex.allocator(w).channel(0), w, W),
    );
    const items: ChannelItem[] = [
      { kind: "connect", nonce: "n1" },
      { kind: "command", command: { kind: "schedule", id: "u1" } },
      { kind: "command", command: { kind: "allowCompaction", id: "u1", frontier: 5n } },
    ];
    for (const it of items) chans[0]!.push(it);
    expect(chans.map((c) => c.receive())).toEqual([[], [], []]); // nothing delivered yet
    const got: ChannelItem[][] = [[], [], []];
    const random = (() => {
      let s = 7;
      return () => (s = (s * 48271) % 2147483647) / 2147483647;
    })();
    while (ex.inFlight > 0) {
      ex.deliver(random);
      chans.forEach((c, w) => {
        got[w]!.push(...c.receive());
      });
    }
    for (const g of got) expect(g).toEqual(items);
    expect(() => chans[1]!.push(items[0]!)).toThrow(RangeError);
  });

  it("sends a batch as one data and one progress message per worker, released in order", () => {
    const W = 2;
    const ex = createInMemoryExchange(W, { immediate: false, clone: true });
    const chans = Array.from(
      { length: W },
      (_, w) => new CommandChannel(ex.allocator(w).channel(0), w, W),
    );
    const items: ChannelItem[] = Array.from({ length: 64 }, (_, i) => ({
      kind: "command",
      command: { kind: "allowCompaction", id: "u1", frontier: BigInt(i) },
    }));
    chans[0]!.pushAll(items.slice(0, 1));
    chans[0]!.pushAll(items.slice(1));
    expect(ex.inFlight).toBe(2 * 2 * W); // two batches × (data + progress) × W
    const got: ChannelItem[][] = [[], []];
    while (ex.inFlight > 0) {
      ex.deliver();
      chans.forEach((c, w) => {
        got[w]!.push(...c.receive());
      });
    }
    for (const g of got) expect(g).toEqual(items);
  });

  it("encodes bigints, bytes and maps losslessly", () => {
    const item: ChannelItem = {
      kind: "command",
      command: {
        kind: "createInstance",
        config: {
          logging: {
            enabled: true,
            intervalMs: 1000,
            logLogging: false,
            indexLogs: new Map([["x", "s1"]]),
          },
          expirationOffsetMs: 18446744073709551615n,
        },
      },
    };
    expect(decodeItem(encodeItem(item))).toEqual(item);
    const bytes: ChannelItem = {
      kind: "command",
      command: {
        kind: "createDataflow",
        dataflow: {
          debugName: "b",
          sourceImports: [],
          indexImports: [],
          objectsToBuild: [
            {
              id: "u1",
              plan: { kind: "constant", rows: [[[new Uint8Array([1, 2])], 1]], arity: 1 },
            },
          ],
          indexExports: [],
          sinkExports: [],
          asOf: null,
          until: null,
        },
      },
    };
    expect(decodeItem(encodeItem(bytes))).toEqual(bytes);
  });
});
