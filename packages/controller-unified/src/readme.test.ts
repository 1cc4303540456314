/**
 * The README's usage snippets, run as tests (style §12): keep them in sync with README.md.
 */
import { getEventListeners } from "node:events";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createClusterStreams } from "./client/index.js";
import {
  backoffDelayMs,
  checkBackoff,
  createRehydrationPolicy,
  createReplicaTaskConnector,
  InvalidBackoff,
  type ReplicaConnectionState,
  type ReplicaConnector,
  sleep,
  UNIFIED_TUNING,
} from "./index.js";
import { testComputeProtocol } from "./testdata/fake-replica.js";

describe("README", () => {
  it("ReplicaConnector (the seam)", async () => {
    const logger = pino({ level: "silent" });
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);

    const connector: ReplicaConnector<string, string> = (opts) => {
      let state: ReplicaConnectionState = "connecting";
      queueMicrotask(() => {
        state = "connected";
        opts.onConnected(opts.epoch);
        for (const c of opts.replay()) opts.onCommandSent?.(c);
        opts.onResponses(opts.epoch, ["ready"]);
      });
      return {
        epoch: opts.epoch,
        get state() {
          return state;
        },
        send: (commands) => {
          for (const c of commands) opts.onCommandSent?.(c);
        },
        close: async () => {
          state = "closed";
        },
      };
    };
    const conn = connector({
      instanceId: "u1",
      replicaId: "u1",
      epoch: 1,
      generation: 1n,
      location: () => "http://127.0.0.1:1",
      replay: () => ["hello", "createInstance"],
      logger,
      onConnected: (epoch) => log(`connected ${epoch}`),
      onResponses: (epoch, responses) => log(`${epoch}: ${responses}`),
      onFailed: (epoch, error) => log(`failed ${epoch}: ${error.message}`),
      onCommandSent: (c) => log(`sent ${c}`),
    });
    expect(conn.state).toBe("connecting");
    await new Promise((r) => setTimeout(r, 0));
    expect(conn.state).toBe("connected");
    conn.send(["peek"]);
    await conn.close();
    expect(conn.state).toBe("closed");
    expect(lines).toEqual([
      "connected 1",
      "sent hello",
      "sent createInstance",
      "1: ready",
      "sent peek",
    ]);
  });

  it("backoffDelayMs()", () => {
    for (let i = 0; i < 20; i++) {
      expect(backoffDelayMs(1)).toBeGreaterThanOrEqual(100);
      expect(backoffDelayMs(1)).toBeLessThanOrEqual(150);
      expect(backoffDelayMs(4)).toBeGreaterThanOrEqual(800);
      expect(backoffDelayMs(4)).toBeLessThanOrEqual(1200);
    }
    expect(backoffDelayMs(3, { initialMs: 125, maxMs: 5000, jitter: 0 })).toBe(500);
    expect(() => checkBackoff({ initialMs: 0, maxMs: 1, jitter: 0 })).toThrow(InvalidBackoff);
  });

  it("sleep()", async () => {
    const abort = new AbortController();
    const started = performance.now();
    const pause = sleep(60_000, abort.signal);
    abort.abort(); // resolves at once; no listener is left on the signal either way
    await pause;
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(getEventListeners(abort.signal, "abort")).toHaveLength(0);
  });

  it("createReplicaTaskConnector() (the unified replica task)", async () => {
    // testComputeProtocol is the README's computeReplicaProtocol (compute-client's, copied).
    expect(testComputeProtocol.isHello(testComputeProtocol.hello(createHelloForTest()))).toBe(true);
    const connectUnifiedComputeReplica = createReplicaTaskConnector(testComputeProtocol);
    expect(connectUnifiedComputeReplica.rehydration).toBeDefined();
    expect(UNIFIED_TUNING).toMatchObject({
      backoff: { initialMs: 125, maxMs: 1000, jitter: 0.2 },
      connectTimeoutMs: 5000,
      pingIntervalMs: 250,
      pingTimeoutMs: 1500,
    });
    const conn = connectUnifiedComputeReplica({
      instanceId: "c1",
      replicaId: "u1",
      epoch: 1,
      generation: 1n,
      location: () => "http://127.0.0.1:1",
      replay: () => [],
      logger: pino({ level: "silent" }),
      onConnected: () => {},
      onResponses: () => {},
      onFailed: () => {},
    });
    expect(conn.state).toBe("connecting"); // nothing listens there: it keeps retrying
    await conn.close();
    expect(conn.state).toBe("closed");
  });

  it("createClusterStreams() (phase 4: one stream per replica)", async () => {
    const streams = createClusterStreams();
    expect(streams.compute.rehydration).toBeDefined();
    expect(streams.storage.rehydration).toBe(streams.compute.rehydration);
    const open = <C, R>(connector: ReplicaConnector<C, R>) =>
      connector({
        instanceId: "c1",
        replicaId: "u2",
        epoch: 1,
        generation: 1n,
        location: () => "http://127.0.0.1:1",
        replay: () => [],
        logger: pino({ level: "silent" }),
        onConnected: () => {},
        onResponses: () => {},
        onFailed: () => {},
      });
    const c = open(streams.compute);
    const s = open(streams.storage);
    expect(streams.replicaIds()).toEqual(["u2"]);
    expect(streams.streamsStarted).toBe(1);
    await Promise.all([c.close(), s.close()]);
    expect(streams.replicaIds()).toEqual([]);
  });

  it("createRehydrationPolicy()", () => {
    const policy = createRehydrationPolicy();
    const r = policy.forReplica();
    const spawned: number[] = [];
    const spawn = (epoch: number) => spawned.push(epoch);
    r.started();
    expect(r.failed(() => spawn(2))).toBe(0); // the first quick failure: ran now
    r.started();
    const pause = r.failed(() => spawn(3)); // the second in a row: 125 ms ± 20 %
    expect(pause).toBeGreaterThanOrEqual(100);
    expect(pause).toBeLessThanOrEqual(150);
    r.cancel(); // a pending respawn never runs
    expect(r.pending).toBe(false);
    expect(spawned).toEqual([2]);
  });
});

function createHelloForTest() {
  return { nonce: "n", generation: 1n, protocolVersion: 1, buildVersion: "0" };
}
