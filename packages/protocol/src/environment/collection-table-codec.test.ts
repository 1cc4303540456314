/**
 * The Status collection table (`collection-table-codec.ts`): rows round-trip through the binary
 * and JSON forms (empty frontiers, no lag, failures, 1,001 rows), the wire is the columnar table
 * (no message per collection), and every malformed table — columns of different lengths, listed
 * rows out of range or order, a value where a row is listed empty, a bad id or name, a lag over
 * 2^53 − 1, no table at all (a response of the older shape) — is a `MalformedApiResponse` naming
 * the field, never a crash or a silently wrong row.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  type CollectionTable,
  StatusResponseSchema,
} from "../gen/mz/environment/v1/environment_pb.js";
import { thrown } from "../testdata/expect-malformed.js";
import { viaBinary, viaJson } from "../testdata/round-trip.js";
import type { ClusterStatus, CollectionStatus, StatusResponse } from "./api.js";
import { environmentCodecs as C } from "./codec.js";
import { collectionTableToProto } from "./collection-table-codec.js";
import { MalformedApiResponse } from "./errors.js";

const ROWS: CollectionStatus[] = [
  {
    id: "u5",
    name: "a_idx",
    writeFrontier: 1_765_000_000_001n,
    since: 1_765_000_000_000n,
    lagMs: 0,
  },
  { id: "u6", name: "b_done", writeFrontier: null, since: 7n },
  { id: "u7", name: "c_dropped", writeFrontier: 3n, since: null, lagMs: 12 },
  { id: "s2", name: "d_failed", writeFrontier: 0n, since: 0n, failed: "quarantined: boom" },
  { id: "u9", name: "e_new", writeFrontier: 0n, since: 0n },
  {
    id: "t3",
    name: "f_empty_reason",
    writeFrontier: 9n,
    since: 9n,
    lagMs: 2 ** 53 - 1,
    failed: "",
  },
];

const status = (collections: readonly CollectionStatus[]): StatusResponse => ({
  clusters: [
    {
      id: "u1",
      name: "c",
      replicas: [],
      collections,
      flags: [],
      introspectionIntervalMs: 1000,
    } satisfies ClusterStatus,
  ],
});

/** The status response of ROWS with its table changed by `edit`, decoded. */
function decodeEdited(edit: (t: CollectionTable) => void): unknown {
  const msg = C.statusResponse.toProto(status(ROWS));
  edit(msg.clusters[0]!.collections!);
  return thrown(() => C.statusResponse.fromProto(msg));
}

function expectMalformed(e: unknown, path: string, reason: RegExp): void {
  expect(e).toBeInstanceOf(MalformedApiResponse);
  const m = e as MalformedApiResponse;
  expect({ rpc: m.rpc, path: m.path }).toEqual({ rpc: "status", path });
  expect(m.reason).toMatch(reason);
}

describe("Status collection table round trip", () => {
  it("keeps every row: empty frontiers, no lag, failures (binary and JSON)", () => {
    const s = status(ROWS);
    expect(viaBinary(C.statusResponse, s)).toStrictEqual(s);
    expect(viaJson(C.statusResponse, s)).toStrictEqual(s);
  });

  it("keeps an empty table, and 1,001 rows", () => {
    expect(viaBinary(C.statusResponse, status([]))).toStrictEqual(status([]));
    const many = Array.from({ length: 1001 }, (_, i) => ({
      id: `u${i + 10}`,
      name: `i${String(i).padStart(4, "0")}`,
      writeFrontier: 1_765_000_000_000n + BigInt(i),
      since: 1_765_000_000_000n,
      lagMs: i % 5,
    }));
    expect(viaBinary(C.statusResponse, status(many))).toStrictEqual(status(many));
  });

  it("is columns on the wire: one string per column, packed times, empties and failures by row", () => {
    const t = collectionTableToProto(ROWS);
    expect(t.ids).toBe("u5 u6 u7 s2 u9 t3");
    expect(t.names).toBe("a_idx b_done c_dropped d_failed e_new f_empty_reason");
    expect(t.writeFrontiers).toEqual([1_765_000_000_001n, 0n, 3n, 0n, 0n, 9n]);
    expect(t.emptyWriteFrontierRows).toEqual([1]);
    expect(t.sinces).toEqual([1_765_000_000_000n, 7n, 0n, 0n, 0n, 9n]);
    expect(t.emptySinceRows).toEqual([2]);
    expect(t.lagMs).toEqual([0n, 0n, 12n, 0n, 0n, BigInt(2 ** 53 - 1)]);
    expect(t.noLagRows).toEqual([1, 3, 4]);
    expect(t.failures.map((f) => [f.row, f.reason])).toEqual([
      [3, "quarantined: boom"],
      [5, ""],
    ]);
  });

  it("refuses to encode an id or name with a space (it would split the row)", () => {
    expect(() => collectionTableToProto([{ ...ROWS[0]!, name: "a b" }])).toThrow(/a space/);
    expect(() => collectionTableToProto([{ ...ROWS[0]!, id: "u5 " }])).toThrow(/a space/);
  });
});

describe("a malformed Status collection table is a MalformedApiResponse", () => {
  const at = "clusters[0].collections";

  it("when a column's length differs from the ids'", () => {
    expectMalformed(
      decodeEdited((t) => {
        t.names = t.names.split(" ").slice(1).join(" ");
      }),
      `${at}.names`,
      /has 5 names for 6 ids/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.ids = `${t.ids} u99`;
      }),
      `${at}.names`,
      /has 6 names for 7 ids/,
    );
    expectMalformed(
      decodeEdited((t) => t.writeFrontiers.pop()),
      `${at}.writeFrontiers`,
      /has 5 write frontiers for 6 ids/,
    );
    expectMalformed(
      decodeEdited((t) => t.sinces.push(1n)),
      `${at}.sinces`,
      /has 7 sinces/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.lagMs = [];
      }),
      `${at}.lagMs`,
      /has 0 lags for 6 ids/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.ids = "";
      }),
      `${at}.names`,
      /has 6 names for 0 ids/,
    );
  });

  it("when a listed row is out of range or out of order", () => {
    expectMalformed(
      decodeEdited((t) => {
        t.emptyWriteFrontierRows = [6];
      }),
      `${at}.emptyWriteFrontierRows[0]`,
      /row 6 is out of range for 6 rows/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.noLagRows = [3, 1, 4];
      }),
      `${at}.noLagRows[1]`,
      /strictly increasing/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.emptySinceRows = [2, 2];
      }),
      `${at}.emptySinceRows[1]`,
      /row 2 follows row 2/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.failures[0]!.row = 40;
      }),
      `${at}.failures[0].row`,
      /out of range/,
    );
    expectMalformed(
      decodeEdited((t) => t.failures.reverse()),
      `${at}.failures[1].row`,
      /strictly increasing/,
    );
  });

  it("when a row listed as empty or without lag has a value in the column", () => {
    expectMalformed(
      decodeEdited((t) => {
        t.emptyWriteFrontierRows = [0, 1];
      }),
      `${at}.writeFrontiers[0]`,
      /is 1765000000001 in a row listed in emptyWriteFrontierRows; it must be 0/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.sinces[2] = 5n;
      }),
      `${at}.sinces[2]`,
      /listed in emptySinceRows/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.lagMs[1] = 1n;
      }),
      `${at}.lagMs[1]`,
      /listed in noLagRows/,
    );
  });

  it("when an id or name is malformed, or a lag exceeds 2^53 - 1", () => {
    expectMalformed(
      decodeEdited((t) => {
        t.ids = t.ids.replace("u7", "x7");
      }),
      `${at}.ids[2]`,
      /"x7" is not a GlobalId/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.names = t.names.replace("e_new", "E_new");
      }),
      `${at}.names[4]`,
      /not a valid name/,
    );
    // Two spaces: an empty name between them (and still 6 names, so the count does not catch it).
    expectMalformed(
      decodeEdited((t) => {
        t.names = t.names.replace(" b_done", "").replace("e_new", " e_new");
      }),
      `${at}.names[3]`,
      /is empty/,
    );
    expectMalformed(
      decodeEdited((t) => {
        t.lagMs[0] = 2n ** 53n;
      }),
      `${at}.lagMs[0]`,
      /exceeds 2\^53 - 1/,
    );
  });

  it("when the table is missing: a response of the older shape (a message per collection)", () => {
    // Field 4 was `repeated CollectionStatus collections`; write one the way an older
    // environmentd did. Decoding keeps it as an unknown field; the table (field 10) is unset.
    const old = new BinaryWriter();
    old.tag(1, 2).fork();
    old.tag(1, 2).string("u1").tag(2, 2).string("c");
    old.tag(4, 2).fork().tag(1, 2).string("u5").tag(2, 2).string("a_idx").join();
    old.tag(7, 0).uint32(1000);
    old.join();
    const msg = fromBinary(StatusResponseSchema, old.finish());
    expectMalformed(
      thrown(() => C.statusResponse.fromProto(msg)),
      at,
      /is unset; this field is required/,
    );
    // A new response still decodes after a round trip through bytes.
    const bytes = toBinary(StatusResponseSchema, C.statusResponse.toProto(status(ROWS)));
    expect(C.statusResponse.fromProto(fromBinary(StatusResponseSchema, bytes))).toStrictEqual(
      status(ROWS),
    );
  });
});
