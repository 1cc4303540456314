/**
 * The unified cluster stream's handler (phase 4) over a real HTTP/2 server on loopback and two
 * small real runtimes (W = 2 each: compute answers peeks, storage answers drops), driven by a
 * Connect client of `ClusterService`. One rule per test: hello first (per sub-protocol), a late
 * second hello, mismatched hellos, a violation on one sub-protocol ends the whole stream and the
 * next stream works, newest-wins across both runtimes, stale generations (with the refusal
 * trailers), per-sub-protocol order under interleaving, hellos signed per sub-protocol, and one
 * TCP connection and one stream carrying both. Imports the BUILT package (`dist/`: worker threads).
 */
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  type ClusterCommand,
  type ComputeCommand,
  createHello,
  generateReplicaSecret,
  type Hello,
  HIGHEST_GENERATION_TRAILER,
  helloRefusalOf,
  REFUSAL_TRAILER,
  type StorageCommand,
  signHello,
} from "@mzts/protocol";
import { clusterV1 } from "@mzts/protocol/wire";
import { Frontier } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import { openClusterStream, type TestClusterStream } from "../dist/index.js";
import {
  type ClusterEchoServer,
  startClusterEchoServer,
} from "../dist/testing/cluster-echo-server.js";

let server: ClusterEchoServer | undefined;
const streams: TestClusterStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.end();
  await server?.close();
  server = undefined;
});

async function start(secret: Uint8Array | null = null): Promise<ClusterEchoServer> {
  server = await startClusterEchoServer({ workers: 2, secret });
  return server;
}

function open(): TestClusterStream {
  if (!server) throw new Error("start the server first");
  const s = openClusterStream(server.url);
  streams.push(s);
  return s;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const compute = (command: ComputeCommand): ClusterCommand => ({ kind: "compute", command });
const storage = (command: StorageCommand): ClusterCommand => ({ kind: "storage", command });
const computeHello = (h: Hello) => compute({ kind: "hello", hello: h });
const storageHello = (h: Hello) => storage({ kind: "hello", hello: h });
const CREATE_INSTANCE = compute({
  kind: "createInstance",
  config: { logging: { enabled: false, intervalMs: 0, logLogging: false, indexLogs: new Map() } },
});
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, "0")}`;
const peek = (n: number) =>
  compute({
    kind: "peek",
    peek: {
      uuid: uuid(n),
      target: { kind: "index", id: "u1" },
      arity: 1,
      timestamp: 1n,
      mapFilterProject: { exprs: [], predicates: [], projection: [0] },
      finishing: { orderBy: [], offset: 0, project: [0] },
    },
  });
const drop = (n: number) =>
  storage({ kind: "allowCompaction", id: `u${n}`, frontier: Frontier.EMPTY });
const peeked = (s: TestClusterStream) =>
  s.compute.map((r) => (r.kind === "peekResponse" ? Number(r.uuid.slice(-12)) : -1));
const dropped = (s: TestClusterStream) =>
  s.storage.map((r) => (r.kind === "droppedId" ? Number(r.id.slice(1)) : -1));

/** Opens both sub-protocols on one stream (one hello each, same nonce and generation). */
function openBoth(generation: bigint, h: Hello = createHello(generation)): TestClusterStream {
  const s = open();
  s.send([computeHello(h), CREATE_INSTANCE, storageHello(h)]);
  return s;
}

describe("cluster stream: hellos", () => {
  it("serves both sub-protocols after their hellos, and the second hello may come much later", async () => {
    const srv = await start();
    const h = createHello(1n);
    const a = open();
    a.send([computeHello(h), CREATE_INSTANCE, compute({ kind: "initializationComplete" })]);
    a.send([peek(1)]);
    await until(() => a.compute.length === 1);
    expect(srv.events).toEqual([`compute open ${h.nonce}`]);
    // The storage instance reconnects later, on the same stream.
    a.send([storageHello(h), storage({ kind: "initializationComplete" }), drop(7)]);
    await until(() => a.storage.length === 1);
    expect(dropped(a)).toEqual([7]);
    expect(srv.events).toEqual([`compute open ${h.nonce}`, `storage open ${h.nonce}`]);
    a.end();
    expect(await a.done).toBeUndefined();
    expect(srv.events.slice(2).sort()).toEqual([
      `compute close ${h.nonce}`,
      `storage close ${h.nonce}`,
    ]);
  });

  it("the stream's first command must be a hello (either sub-protocol's), and each sub-protocol's first command its own hello", async () => {
    await start();
    const a = open();
    a.send([drop(1)]);
    const err = await a.done;
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("the first command of a stream must be a hello");

    // Storage may open the stream; compute's first command must still be its hello.
    const b = open();
    b.send([storageHello(createHello(1n)), drop(2)]);
    await until(() => b.storage.length === 1);
    b.send([CREATE_INSTANCE]);
    const errB = await b.done;
    expect(errB?.code).toBe(Code.InvalidArgument);
    expect(errB?.rawMessage).toContain(
      "the first command of the compute sub-protocol must be a hello",
    );
  });

  it("ends the stream with InvalidArgument when the second hello disagrees (nonce, generation), and serves the next stream", async () => {
    const srv = await start();
    const otherNonce = (h: Hello) => createHello(h.generation);
    const otherGeneration = (h: Hello) => ({ ...h, generation: h.generation + 1n });
    for (const disagree of [otherNonce, otherGeneration]) {
      const first = createHello(2n);
      const other = disagree(first);
      const s = open();
      s.send([computeHello(first), CREATE_INSTANCE, peek(1)]);
      await until(() => s.compute.length === 1);
      s.send([storageHello(other)]);
      const err = await s.done;
      expect(err?.code).toBe(Code.InvalidArgument);
      expect(err?.rawMessage).toMatch(/the compute hello .* and the storage hello .*/);
    }
    expect(srv.connections.current).toBeNull();
    const next = openBoth(2n);
    next.send([peek(2), drop(2)]);
    await until(() => next.compute.length === 1 && next.storage.length === 1);
  });

  it("ends the stream on an undecodable or empty command with InvalidArgument naming the field", async () => {
    const srv = await start();
    const a = openBoth(1n);
    a.send([peek(1)]);
    await until(() => a.compute.length === 1);
    a.sendRaw(
      create(clusterV1.ControlRequestSchema, {
        commands: [create(clusterV1.ClusterCommandSchema, {})],
      }),
    );
    const err = await a.done;
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/commands\[0\].*neither compute nor storage is set/);
    const b = openBoth(1n);
    b.sendRaw(create(clusterV1.ControlRequestSchema, { commands: [] }));
    expect((await b.done)?.code).toBe(Code.InvalidArgument);
    expect(srv.connections.current).toBeNull();
  });

  it("a second hello of the same sub-protocol ends the stream", async () => {
    await start();
    const h = createHello(1n);
    const a = openBoth(1n, h);
    a.send([storageHello(h)]);
    const err = await a.done;
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("a second hello");
  });
});

describe("cluster stream: stream as a whole", () => {
  it("a violation on one sub-protocol ends the whole stream with its code; both runtimes serve the next stream", async () => {
    const srv = await start();
    const h = createHello(1n);
    const a = openBoth(1n, h);
    a.send([
      storage({ kind: "initializationComplete" }),
      compute({ kind: "initializationComplete" }),
      peek(1),
    ]);
    await until(() => a.compute.length === 1);
    a.send([peek(2), storage({ kind: "initializationComplete" })]);
    const err = await a.done;
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toContain("second InitializationComplete");
    // Nothing of the violating message reached a runtime, and both sessions closed.
    expect(peeked(a)).toEqual([1]);
    expect(srv.events).toContain(`compute close ${h.nonce}`);
    expect(srv.events).toContain(`storage close ${h.nonce}`);
    expect(srv.connections.current).toBeNull();

    const b = openBoth(1n);
    b.send([peek(3), drop(3)]);
    await until(() => b.compute.length === 1 && b.storage.length === 1);
    expect([peeked(b), dropped(b)]).toEqual([[3], [3]]);
  });

  it("a newer stream supersedes the old one for both runtimes (the old one ends Aborted), whichever hello opens it", async () => {
    const srv = await start();
    const ha = createHello(3n);
    const a = openBoth(3n, ha);
    a.send([peek(1), drop(1)]);
    await until(() => a.compute.length === 1 && a.storage.length === 1);

    // B opens with storage only: A's compute session must end too.
    const hb = createHello(3n);
    const b = open();
    b.send([storageHello(hb)]);
    const errA = await a.done;
    expect(errA?.code).toBe(Code.Aborted);
    expect(errA?.rawMessage).toContain("replaced by a newer connection");
    expect(srv.events).toContain(`compute close ${ha.nonce}`);
    expect(srv.events).toContain(`storage close ${ha.nonce}`);
    b.send([drop(2)]);
    await until(() => b.storage.length === 1);
    b.send([computeHello(hb), CREATE_INSTANCE, peek(2)]);
    await until(() => b.compute.length === 1);
    expect([peeked(b), dropped(b)]).toEqual([[2], [2]]);
    expect(srv.connections.current?.nonce).toBe(hb.nonce);
  });

  it("refuses a stale generation on either sub-protocol's hello with Aborted and the refusal trailers; the current stream keeps serving", async () => {
    const srv = await start();
    const a = openBoth(5n);
    await until(() => srv.connections.current !== null);
    for (const hello of [computeHello, storageHello]) {
      const b = open();
      b.send([hello(createHello(4n))]);
      const err = await b.done;
      expect(err?.code).toBe(Code.Aborted);
      expect(err?.rawMessage).toMatch(/^echo replica cluster port: hello of generation 4 refused/);
      expect(err?.metadata.get(REFUSAL_TRAILER)).toBe("stale-generation");
      expect(err?.metadata.get(HIGHEST_GENERATION_TRAILER)).toBe("5");
      expect(helloRefusalOf(err)).toEqual({ kind: "stale-generation", highestGeneration: 5n });
    }
    a.send([peek(1), drop(1)]);
    await until(() => a.compute.length === 1 && a.storage.length === 1);
  });

  it("keeps each sub-protocol's order under interleaving, over one TCP connection and one stream", async () => {
    const srv = await start();
    const a = openBoth(1n);
    a.send([
      compute({ kind: "initializationComplete" }),
      storage({ kind: "initializationComplete" }),
    ]);
    // 300 commands in 40 messages, each message a pseudo-random mix of the two.
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let p = 0;
    let d = 0;
    for (let m = 0; m < 40; m++) {
      const batch: ClusterCommand[] = [];
      const n = 1 + Math.floor(rand() * 14);
      for (let i = 0; i < n; i++) batch.push(rand() < 0.5 ? peek(++p) : drop(++d));
      a.send(batch);
    }
    await until(() => a.compute.length === p && a.storage.length === d);
    expect(peeked(a)).toEqual(Array.from({ length: p }, (_, i) => i + 1));
    expect(dropped(a)).toEqual(Array.from({ length: d }, (_, i) => i + 1));
    expect(srv.transport).toEqual({ connections: 1, streams: 1 });
    // Responses of both lanes share stream messages (fewer messages than responses).
    expect(a.messages).toBeLessThan(p + d);
  });
});

describe("cluster stream: authentication", () => {
  const secret = generateReplicaSecret();

  it("accepts hellos signed for their own sub-protocol and refuses one signed for another stream", async () => {
    await start(secret);
    const h = createHello(1n);
    const a = open();
    a.send([computeHello(signHello(h, secret, "compute")), CREATE_INSTANCE, peek(1)]);
    a.send([storageHello(signHello(h, secret, "storage")), drop(1)]);
    await until(() => a.compute.length === 1 && a.storage.length === 1);
    a.end();
    await a.done;

    for (const [first, second] of [
      [computeHello(signHello(createHello(2n), secret, "cluster")), undefined],
      [storageHello(signHello(createHello(2n), secret, "compute")), undefined],
    ] as const) {
      const b = open();
      b.send(second ? [first, second] : [first]);
      const err = await b.done;
      expect(err?.code).toBe(Code.Unauthenticated);
      expect(err?.metadata.get(REFUSAL_TRAILER)).toBe("unauthenticated");
    }
    // The joining hello is checked too: signed for compute, sent as storage's.
    const h3 = createHello(3n);
    const c = open();
    c.send([computeHello(signHello(h3, secret, "compute")), CREATE_INSTANCE]);
    c.send([storageHello(signHello(h3, secret, "compute"))]);
    const err = await c.done;
    expect(err?.code).toBe(Code.Unauthenticated);
  });
});
