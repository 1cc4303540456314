/**
 * The mirror hub of a `state` stage (`mirror-replicas.ts`) with in-memory replicas: the
 * authoritative side is controller-unified's fake connector behind `tap`, the shadow side a
 * hand-driven mirror connection. Peek uuid pairing (issue order per content, replays once),
 * buffering while no mirror is up (bounded, counted), failure following, and the recorded
 * replays (normalised).
 */
import type { ReplicaConnectionOptions, ReplicaConnector } from "@mzts/controller-unified";
import { createFakeConnector } from "@mzts/controller-unified/testing";
import type { ComputeCommand, ComputeResponse, Peek } from "@mzts/protocol";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { MAX_BUFFERED, MirrorHub, normalizeCommands } from "./mirror-replicas.js";

const logger = pino({ level: "silent" });
const flush = () => new Promise((r) => setImmediate(r));

function peek(uuid: string, timestamp: bigint, target = "u20"): ComputeCommand {
  return { kind: "peek", peek: { uuid, target, timestamp } as unknown as Peek };
}

function rows(uuid: string, n: number): ComputeResponse {
  return { kind: "peekResponse", uuid, response: { kind: "rows", rows: [[[BigInt(n)], 1]] } };
}

/** What every incarnation of replica r1 is given but its callbacks. */
function incarnation(epoch: number, replay: readonly ComputeCommand[]) {
  return {
    instanceId: "u1",
    replicaId: "r1",
    epoch,
    generation: 1n,
    location: () => "",
    replay: () => replay,
    logger,
  };
}

/** A shadow incarnation on a mirror: what it got, and its connection. */
function shadowIncarnation(
  hub: MirrorHub,
  epoch: number,
  replay: ComputeCommand[] = [],
  awaitsPeek?: (uuid: string) => boolean,
) {
  const got = {
    connected: 0,
    responses: [] as ComputeResponse[],
    failed: [] as string[],
    sent: [] as ComputeCommand[],
  };
  const mirror = hub.mirror<ComputeCommand, ComputeResponse>("compute");
  const opts: ReplicaConnectionOptions<ComputeCommand, ComputeResponse> = {
    ...incarnation(epoch, replay),
    onConnected: () => {
      got.connected += 1;
    },
    onResponses: (_e, rs) => {
      got.responses.push(...rs);
    },
    onFailed: (_e, err) => {
      got.failed.push(err.message);
    },
    onCommandSent: (c) => {
      got.sent.push(c);
    },
    ...(awaitsPeek === undefined ? {} : { awaitsPeek }),
  };
  return { got, conn: mirror(opts) };
}

/** The authoritative side: a fake replica behind the hub's tap, and one incarnation of r1. */
function authoritative(
  hub: MirrorHub,
  replay: ComputeCommand[] = [],
  awaitsPeek?: (uuid: string) => boolean,
) {
  const fake = createFakeConnector<ComputeCommand, ComputeResponse>();
  const tapped = hub.tap<ComputeCommand, ComputeResponse>(
    "compute",
    fake.connector as ReplicaConnector<ComputeCommand, ComputeResponse>,
  );
  const start = (epoch: number) =>
    tapped({
      ...incarnation(epoch, replay),
      onConnected: () => {},
      onResponses: () => {},
      onFailed: () => {},
      ...(awaitsPeek === undefined ? {} : { awaitsPeek }),
    });
  return { fake, start };
}

describe("MirrorHub", () => {
  it("pairs the shadow's peeks with the authoritative's in issue order per content and rewrites the answers' uuids", async () => {
    const hub = new MirrorHub(logger);
    const a = authoritative(hub);
    const conn = a.start(1);
    const s = shadowIncarnation(hub, 1);
    await flush();
    expect(s.got.connected).toBe(1);
    // Two peeks of different content, then a second of the first content; issued in the same
    // order on both sides, each side with its own uuids.
    conn.send([peek("a1", 5n), peek("a2", 6n)]);
    s.conn.send([peek("s1", 5n), peek("s2", 6n)]);
    conn.send([peek("a3", 5n)]);
    s.conn.send([peek("s3", 5n)]);
    a.fake.respond("r1", [rows("a2", 2), rows("a3", 3), rows("a1", 1)]);
    expect(s.got.responses.map((r) => (r.kind === "peekResponse" ? r.uuid : r.kind))).toEqual([
      "s2",
      "s3",
      "s1",
    ]);
    expect(hub.counters.unpaired).toBe(0);
    // A response for a peek the shadow never issued passes as it is, counted.
    a.fake.respond("r1", [rows("a9", 9)]);
    expect(hub.counters.unpaired).toBe(1);
  });

  it("awaits an answer the authoritative no longer awaits while the shadow awaits its pair; else drops it and forgets the pair", async () => {
    const hub = new MirrorHub(logger);
    const authAwaits = new Set(["a2"]);
    const shadowAwaits = new Set(["s1"]);
    const a = authoritative(hub, [], (u) => authAwaits.has(u));
    const conn = a.start(1);
    const s = shadowIncarnation(hub, 1, [], (u) => shadowAwaits.has(u));
    await flush();
    conn.send([peek("a1", 5n), peek("a2", 6n)]);
    s.conn.send([peek("s1", 5n), peek("s2", 6n)]);
    const awaits = a.fake.current("r1")?.opts.awaitsPeek;
    expect(awaits?.("a2")).toBe(true); // the authoritative's own
    expect(awaits?.("a1")).toBe(true); // answered there, but the shadow still awaits s1
    shadowAwaits.delete("s1");
    expect(awaits?.("a1")).toBe(false); // nobody: dropped undecoded, the pair forgotten
    a.fake.respond("r1", [rows("a1", 1)]);
    expect(hub.counters.unpaired).toBe(1);
    expect(awaits?.("a9")).toBe(false); // never issued by the shadow
  });

  it("keeps a pending peek paired across incarnations: its replays are not paired again", async () => {
    const hub = new MirrorHub(logger);
    const replay: ComputeCommand[] = [];
    const a = authoritative(hub, replay);
    const conn = a.start(1);
    const first = shadowIncarnation(hub, 1);
    await flush();
    conn.send([peek("a1", 5n)]);
    first.conn.send([peek("s1", 5n)]);
    replay.push(peek("a1", 5n));
    // The authoritative incarnation fails; the next one replays the pending peek (a1) before the
    // shadow's next incarnation exists; then a second peek of the same content is issued.
    a.fake.fail("r1", "boom");
    expect(first.got.failed).toEqual(["the authoritative incarnation ended: boom"]);
    const conn2 = a.start(2);
    await flush();
    conn2.send([peek("a2", 5n)]);
    // The shadow's replay no longer has s1 (say it gave up on it): only a2 may pair with s2.
    const second = shadowIncarnation(hub, 2, []);
    await flush();
    second.conn.send([peek("s2", 5n)]);
    expect(second.got.connected).toBe(1);
    a.fake.respond("r1", [rows("a2", 2), rows("a1", 1)]);
    expect(second.got.responses).toEqual([rows("s2", 2), rows("s1", 1)]);
  });

  it("buffers the authoritative's responses while no mirror is up and hands them to the next one; an overflow is counted", async () => {
    const hub = new MirrorHub(logger);
    const a = authoritative(hub);
    a.start(1);
    await flush(); // the authoritative incarnation is connected; no shadow connection yet
    const frontier = (n: number): ComputeResponse => ({
      kind: "frontiers",
      id: "u20",
      frontiers: { write: BigInt(n) },
    });
    a.fake.respond("r1", [frontier(1), frontier(2)]);
    const s = shadowIncarnation(hub, 1);
    expect(s.got.responses).toEqual([]); // connects in a microtask
    await flush();
    expect(s.got.responses).toEqual([frontier(1), frontier(2)]);
    a.fake.respond("r1", [frontier(3)]);
    expect(s.got.responses).toEqual([frontier(1), frontier(2), frontier(3)]);
    // The shadow's connection closes (its own decision): the next responses wait, bounded.
    await s.conn.close();
    a.fake.respond(
      "r1",
      Array.from({ length: MAX_BUFFERED + 5 }, (_, i) => frontier(10 + i)),
    );
    expect(hub.counters.overflowed).toBe(5);
    const next = shadowIncarnation(hub, 2);
    await flush();
    expect(next.got.responses).toHaveLength(MAX_BUFFERED);
    expect(next.got.responses[0]).toEqual(frontier(10));
  });

  it("follows the authoritative incarnation: fails with it, waits for the next one to connect", async () => {
    const hub = new MirrorHub(logger);
    const a = authoritative(hub);
    a.start(1);
    const s1 = shadowIncarnation(hub, 1);
    await flush();
    expect(s1.conn.state).toBe("connected");
    a.fake.fail("r1", "stream ended");
    expect(s1.conn.state).toBe("failed");
    expect(s1.got.failed).toEqual(["the authoritative incarnation ended: stream ended"]);
    // The shadow's next incarnation waits: no authoritative incarnation is connected.
    const s2 = shadowIncarnation(hub, 2);
    await flush();
    expect(s2.conn.state).toBe("connecting");
    a.start(2);
    await flush();
    expect(s2.conn.state).toBe("connected");
    expect(s2.got.connected).toBe(1);
    // What the shadow sends is recorded (its onCommandSent), never delivered anywhere.
    s2.conn.send([peek("s1", 1n)]);
    expect(s2.got.sent).toEqual([peek("s1", 1n)]);
    expect(a.fake.current("r1")?.sent).toEqual([]);
  });

  it("one mirror per authoritative incarnation: the shadow's next connection takes it when the previous one closes", async () => {
    const hub = new MirrorHub(logger);
    const a = authoritative(hub);
    a.start(1);
    const s1 = shadowIncarnation(hub, 1);
    await flush();
    const s2 = shadowIncarnation(hub, 2);
    await flush();
    expect([s1.conn.state, s2.conn.state]).toEqual(["connected", "connecting"]);
    await s1.conn.close();
    await flush();
    expect(s2.conn.state).toBe("connected");
    expect(s2.got.connected).toBe(1);
  });

  it("records both replays of an incarnation, normalised, and whether they are comparable", async () => {
    const hub = new MirrorHub(logger);
    const a = authoritative(hub, [peek("a1", 5n)]);
    const conn = a.start(1);
    shadowIncarnation(hub, 1, [peek("s1", 5n)]);
    await flush();
    const [pair] = hub.takeReplays();
    expect(pair?.comparable).toBe(true);
    expect(pair?.authoritative).toEqual(pair?.shadow);
    expect(pair?.authoritative).toEqual(normalizeCommands([peek("zz", 5n)]));
    expect(hub.takeReplays()).toEqual([]);
    // A live command before the shadow read its replay makes the pair not comparable.
    a.fake.fail("r1", "x");
    const conn2 = a.start(2);
    await flush();
    conn2.send([peek("a2", 6n)]);
    shadowIncarnation(hub, 2, [peek("s2", 6n)]);
    await flush();
    const [late] = hub.takeReplays();
    expect(late?.comparable).toBe(false);
    void conn;
  });
});
