// PHASE(servers): legacy — delete when cluster-unification-servers is retired

import { fc, test } from "@fast-check/vitest";
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

  test.prop(
    [
      fc.string({ unit: "binary" }),
      fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { nil: null }),
    ],
    { numRuns: 300, seed: 16 },
  )("allowCompaction's compact text round-trips any id and frontier (not JSON)", (id, frontier) => {
    const item: ChannelItem = {
      kind: "command",
      command: { kind: "allowCompaction", id, frontier },
    };
    const text = encodeItem(item);
    expect(text.startsWith("{")).toBe(false);
    expect(decodeItem(text)).toEqual(item);
    // Other items stay JSON, whatever their strings hold.
    const other: ChannelItem = { kind: "command", command: { kind: "schedule", id } };
    expect(decodeItem(encodeItem(other))).toEqual(other);
    expect(encodeItem(other).startsWith("{")).toBe(true);
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

  // The encoding as it was (a replacer and a reviver, V8's slow paths): the new one must write
  // the same text and read it back the same.
  const referenceEncode = (item: unknown): string =>
    JSON.stringify(item, function (this: unknown, key: string, v: unknown) {
      const raw = (this as Record<string, unknown>)[key];
      if (typeof raw === "bigint") return { $b: raw.toString() };
      if (raw instanceof Uint8Array) return { $u: Buffer.from(raw).toString("base64") };
      if (raw instanceof Map) return { $m: [...raw.entries()] };
      return v;
    });
  const leaf = fc.oneof(
    fc.bigInt(),
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 8 }),
  );
  const tree = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small" },
      leaf,
      fc.array(tie("node"), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 4 }), tie("node"), { maxKeys: 4 }),
      fc
        .array(fc.tuple(fc.string({ maxLength: 3 }), tie("node")), { maxLength: 3 })
        .map((es) => new Map(es)),
    ),
  })).node;

  test.prop([tree], { numRuns: 300, seed: 16 })(
    "writes the reference encoding's text and reads it back losslessly",
    (value) => {
      const item = { kind: "command", command: { kind: "x", value } } as unknown as ChannelItem;
      const text = encodeItem(item);
      expect(text).toBe(referenceEncode(item));
      expect(decodeItem(text)).toEqual(item);
    },
  );

  it("keeps a key named __proto__ as data and never changes a prototype", () => {
    const text =
      '{"kind":"command","command":{"kind":"x","__proto__":{"$b":"5"},"a":{"__proto__":{"polluted":1}}}}';
    const got = decodeItem(text) as unknown as { command: Record<string, unknown> };
    expect(Object.getPrototypeOf(got.command)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got.command, "__proto__")?.value).toBe(5n);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
