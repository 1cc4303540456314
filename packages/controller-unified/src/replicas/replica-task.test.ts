/**
 * The unified replica task against a fake replica (a Connect server on 127.0.0.1, port 0) and a
 * stalling TCP proxy: connect with a PING probe and backoff, the replay with a fresh hello read
 * when the stream opens, fail-once, nothing delivered after a failure or close (epochs), liveness
 * detection of a stalled replica, crash-loop rehydration, and no abort-listener pile-up.
 */
import { createServer } from "node:net";
import {
  type ComputeCommand,
  type ComputeResponse,
  generateReplicaSecret,
  verifyHelloProof,
} from "@mzts/protocol";
import {
  createInstance,
  hello,
  initializationComplete,
} from "@mzts/protocol/testing/compute-commands";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  type FakeReplica,
  startFakeReplica,
  testComputeProtocol,
} from "../testdata/fake-replica.js";
import { until } from "../testdata/until.js";
import { measureAbortListeners } from "../testing/listener-leak.js";
import { type StallProxy, startStallProxy } from "../testing/stall-proxy.js";
import { createRehydrationPolicy } from "./rehydration.js";
import type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionTuning,
  ReplicaConnector,
} from "./replica-connection.js";
import { createReplicaTaskConnector, UNIFIED_TUNING } from "./replica-task.js";

type Conn = ReplicaConnection<ComputeCommand, ComputeResponse>;
type Opts = ReplicaConnectionOptions<ComputeCommand, ComputeResponse>;

const logger = pino({ level: "silent" });
const connector = createReplicaTaskConnector(testComputeProtocol);
const frontier = (write: bigint): ComputeResponse => ({
  kind: "frontiers",
  id: "u1",
  frontiers: { write },
});

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function replica(): Promise<FakeReplica> {
  const r = await startFakeReplica();
  cleanup.push(() => r.close());
  return r;
}

/** What one incarnation's callbacks saw. */
interface Seen {
  connected: number;
  readonly responses: Array<[number, ComputeResponse]>;
  readonly failures: Array<[number, Error]>;
  readonly sent: ComputeCommand[];
  replays: number;
}

/** Starts one incarnation with `history` as its replay source. */
function start(
  location: () => string,
  history: ComputeCommand[],
  extra: Partial<Opts> & { tuning?: ReplicaConnectionTuning } = {},
  using: ReplicaConnector<ComputeCommand, ComputeResponse> = connector,
): { conn: Conn; seen: Seen } {
  const seen: Seen = { connected: 0, responses: [], failures: [], sent: [], replays: 0 };
  const conn = using({
    instanceId: "c1",
    replicaId: "u1",
    epoch: 1,
    generation: 7n,
    location,
    replay: () => {
      seen.replays++;
      return [...history];
    },
    logger,
    onConnected: () => {
      seen.connected++;
    },
    onResponses: (e, rs) => {
      for (const r of rs) seen.responses.push([e, r]);
    },
    onFailed: (e, err) => {
      seen.failures.push([e, err]);
    },
    onCommandSent: (c) => {
      seen.sent.push(c);
    },
    ...extra,
  });
  cleanup.push(() => conn.close());
  return { conn, seen };
}

describe("unified replica task", () => {
  it("retries with doubling backoff until a replica answers a PING, sending nothing before", async () => {
    const accepts: number[] = [];
    const refusing = createServer((s) => {
      accepts.push(performance.now());
      s.destroy();
    });
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => refusing.close(r)));
    const port = (refusing.address() as { port: number }).port;
    const fake = await replica();
    let url = `http://127.0.0.1:${port}`;
    const backoff = { initialMs: 40, maxMs: 160, jitter: 0 };
    const { conn, seen } = start(() => url, [hello(), createInstance], { tuning: { backoff } });
    await until("5 refused attempts", () => accepts.length >= 5);
    expect(conn.state).toBe("connecting");
    expect(seen.connected).toBe(0);
    expect(seen.replays).toBe(0);
    const gaps = accepts.slice(1, 5).map((t, i) => t - (accepts[i] as number));
    // 40, 80, 160, 160 (capped): each gap is at least its delay, and not much more.
    [40, 80, 160, 160].forEach((d, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(d - 2);
      expect(gaps[i]).toBeLessThan(d + 250);
    });
    url = fake.url; // read at every attempt
    await until("connected", () => conn.state === "connected" && fake.streams.length === 1);
    expect(seen.connected).toBe(1);
    expect(seen.failures).toEqual([]);
  });

  it("tries a changed location at once instead of waiting out the backoff", async () => {
    const refusing = createServer((s) => s.destroy());
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => refusing.close(r)));
    const port = (refusing.address() as { port: number }).port;
    const fake = await replica();
    let url = `http://127.0.0.1:${port}`;
    const backoff = { initialMs: 3000, maxMs: 3000, jitter: 0 };
    const { conn } = start(() => url, [hello()], { tuning: { backoff } });
    await new Promise((r) => setTimeout(r, 200)); // the first attempt failed: a 3 s pause
    const movedAt = performance.now();
    url = fake.url; // the replica restarted elsewhere
    await until("connected", () => conn.state === "connected");
    expect(performance.now() - movedAt).toBeLessThan(1000);
  });

  it("opens with a fresh signed hello, then the replay read at that moment, then live sends", async () => {
    const fake = await replica();
    const secret = generateReplicaSecret();
    const history: ComputeCommand[] = [
      hello("11111111-1111-4111-8111-111111111111"),
      createInstance,
    ];
    const { conn, seen } = start(() => fake.url, history, { replicaSecret: secret });
    // Sent before the stream opens: the instance put it in the history, the replay carries it.
    history.push(initializationComplete);
    conn.send([initializationComplete]);
    await until("first message", () => (fake.streams[0]?.messages.length ?? 0) >= 1);
    const live: ComputeCommand = { kind: "allowCompaction", id: "u1", frontier: 3n };
    conn.send([live]);
    await until("live message", () => (fake.streams[0]?.messages.length ?? 0) >= 2);
    const [first, second] = fake.streams[0]?.messages ?? [];
    expect(first?.map((c) => c.kind)).toEqual([
      "hello",
      "createInstance",
      "initializationComplete",
    ]);
    const h = first?.[0];
    if (h?.kind !== "hello") throw new Error("no hello first");
    expect(h.hello.nonce).not.toBe("11111111-1111-4111-8111-111111111111");
    expect(h.hello.generation).toBe(7n);
    expect(verifyHelloProof(h.hello, secret, "compute")).toBe("valid");
    expect(verifyHelloProof(h.hello, secret, "storage")).not.toBe("valid");
    expect(second).toEqual([live]);
    expect(seen.replays).toBe(1);
    expect(seen.sent.map((c) => c.kind)).toEqual([
      "hello",
      "createInstance",
      "initializationComplete",
      "allowCompaction",
    ]);
  });

  it("delivers responses tagged with its epoch; fails once when the replica ends the stream", async () => {
    const fake = await replica();
    const { conn, seen } = start(() => fake.url, [hello(), createInstance], { epoch: 4 });
    await until("stream", () => fake.streams.length === 1 && conn.state === "connected");
    expect(fake.respond([frontier(5n)])).toBe(true);
    await until("response", () => seen.responses.length === 1);
    expect(seen.responses).toEqual([[4, frontier(5n)]]);
    fake.endStreams();
    await until("failed", () => conn.state === "failed");
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.failures).toHaveLength(1);
    expect(seen.failures[0]?.[0]).toBe(4);
    expect(seen.failures[0]?.[1].message).toMatch(/ended the compute stream/);
    conn.send([initializationComplete]); // ignored once failed
    await conn.close(); // silent
    expect(conn.state).toBe("failed");
    expect(seen.failures).toHaveLength(1);
    expect(fake.streams).toHaveLength(1); // it did not reconnect: that is the instance's call
  });

  it("still ends (close resolves) when the instance's onFailed throws", async () => {
    const fake = await replica();
    const { conn } = start(() => fake.url, [hello()], {
      onFailed: () => {
        throw new Error("instance bug");
      },
    });
    await until("connected", () => conn.state === "connected" && fake.streams.length === 1);
    fake.endStreams();
    await until("failed", () => conn.state === "failed");
    await expect(conn.close()).resolves.toBeUndefined();
  });

  it("delivers nothing after a malformed response fails it, or after close", async () => {
    const fake = await replica();
    const { conn, seen } = start(() => fake.url, [hello()]);
    await until("stream", () => fake.streams.length === 1 && conn.state === "connected");
    // An empty response message is malformed; the frontier right behind it is never delivered.
    expect(fake.respond([frontier(1n)])).toBe(true);
    await until("first response", () => seen.responses.length === 1);
    fake.respond([]);
    fake.respond([frontier(2n)]);
    await until("failed", () => conn.state === "failed");
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.responses).toEqual([[1, frontier(1n)]]);
    expect(seen.failures).toHaveLength(1);
    expect(seen.failures[0]?.[1].message).toMatch(/response/i);

    // close(): the replica keeps answering the second incarnation's stream; nothing arrives.
    const second = start(() => fake.url, [hello()], { epoch: 2 });
    await until(
      "second stream",
      () => second.conn.state === "connected" && fake.streams.length === 2,
    );
    await second.conn.close();
    fake.respond([frontier(3n)]);
    await new Promise((r) => setTimeout(r, 100));
    expect(second.seen.responses).toEqual([]);
    expect(second.seen.failures).toEqual([]);
    expect(second.conn.state).toBe("closed");
  });

  it("fails the incarnation, not the caller, when a command does not encode", async () => {
    const fake = await replica();
    const picky = createReplicaTaskConnector({
      ...testComputeProtocol,
      encode: (cs) => {
        if (cs.some((c) => c.kind === "cancelPeek")) throw new Error("cannot encode cancelPeek");
        return testComputeProtocol.encode(cs);
      },
    });
    const { conn, seen } = start(() => fake.url, [hello()], {}, picky);
    await until("connected", () => conn.state === "connected" && fake.streams.length === 1);
    expect(() => conn.send([{ kind: "cancelPeek", uuid: "x" }])).not.toThrow();
    await until("failed", () => conn.state === "failed");
    expect(seen.failures.map(([, e]) => e.message)).toEqual(["cannot encode cancelPeek"]);
  });

  it("detects a stalled replica within pingInterval + pingTimeout (defaults: 1.75 s)", async () => {
    const fake = await replica();
    const proxy: StallProxy = await startStallProxy(fake.port);
    cleanup.push(() => proxy.close());
    const { conn, seen } = start(() => proxy.url, [hello(), createInstance]);
    await until("connected", () => conn.state === "connected" && fake.streams.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    const stalledAt = performance.now();
    proxy.stall();
    await until("failed", () => seen.failures.length === 1, 6000);
    const detectionMs = performance.now() - stalledAt;
    const bound = UNIFIED_TUNING.pingIntervalMs + UNIFIED_TUNING.pingTimeoutMs;
    expect(detectionMs).toBeLessThanOrEqual(bound + 300);
    expect(seen.failures[0]?.[1].message).toMatch(/PING/);
    expect(conn.state).toBe("failed");
  });

  it("rehydrates at once after a long run and backs off a crash loop", async () => {
    const fake = await replica();
    fake.refuseStreams(true); // every stream ends after its first message
    let now = 0;
    const crashLoop = createReplicaTaskConnector(testComputeProtocol, {
      rehydration: createRehydrationPolicy(
        { quickFailureMs: 5000, backoff: { initialMs: 50, maxMs: 200, jitter: 0 } },
        { now: () => now + performance.now() },
      ),
    });
    const rehydration = crashLoop.rehydration?.forReplica();
    if (rehydration === undefined) throw new Error("the unified connector carries a policy");
    const spawns: number[] = [];
    const delays: number[] = [];
    let current: Conn | undefined;
    const spawn = (epoch: number) => {
      spawns.push(performance.now());
      rehydration.started();
      current = crashLoop({
        instanceId: "c1",
        replicaId: "u1",
        epoch,
        generation: 1n,
        location: () => fake.url,
        replay: () => [hello(), createInstance],
        logger,
        onConnected: () => {},
        onResponses: () => {},
        onFailed: (e) => {
          if (e === current?.epoch) delays.push(rehydration.failed(() => spawn(e + 1)));
        },
      });
    };
    cleanup.push(async () => {
      rehydration.cancel();
      await current?.close();
    });
    spawn(1);
    await until("6 incarnations", () => spawns.length >= 6, 10_000);
    // 1st quick failure: at once; then 50, 100, 200, 200 (capped).
    expect(delays.slice(0, 5)).toEqual([0, 50, 100, 200, 200]);
    const gaps = spawns.slice(1, 6).map((t, i) => t - (spawns[i] as number));
    for (const [i, d] of [0, 50, 100, 200, 200].entries()) {
      expect(gaps[i]).toBeGreaterThanOrEqual(d - 2);
    }
    // The replica recovers; an incarnation that then runs long resets the loop.
    fake.refuseStreams(false);
    await new Promise((r) => setTimeout(r, 600));
    const settled = spawns.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(current?.state).toBe("connected");
    expect(spawns.length).toBe(settled);
    now += 10_000; // it ran long
    expect(rehydration.failed(() => {})).toBe(0);
    expect(rehydration.quickFailures).toBe(0);
  });

  it("leaves no abort listener per connect attempt", async () => {
    const report = await measureAbortListeners(connector, 25);
    expect(report.attempts).toBeGreaterThanOrEqual(25);
    expect(report.state).toBe("connecting");
    expect(report.mostListeners).toBeLessThanOrEqual(2);
  });
});
