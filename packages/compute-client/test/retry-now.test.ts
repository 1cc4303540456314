/**
 * A replica seen (re)starting is connected at once (`retryNow`, from `updateReplicaLocation`), not
 * after the rest of the reconnect backoff: the legacy compute task, with a 30 s backoff, reaches a
 * replica that starts listening (an HTTP/2 server: the probe's PING is what "connected" needs)
 * within a few seconds of the kick. Before, a restarted replica waited out up
 * to one capped backoff step (issue 16, rehydration after a kill -9).
 */
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { connectLegacyComputeReplica } from "../src/index.js";

const servers: Http2Server[] = [];
const tasks: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const t of tasks.splice(0)) await t.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(): Promise<{ server: Http2Server; url: string }> {
  const server = createServer();
  // Streams are left open: the task stays connected until the test closes it, whose GOAWAY
  // (CANCEL) is the server session's error event.
  server.on("stream", () => {});
  server.on("session", (session) => session.on("error", () => {}));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A URL nothing listens on (a port bound and released). */
async function deadUrl(): Promise<string> {
  const { server, url } = await listen();
  servers.splice(servers.indexOf(server), 1);
  await new Promise((r) => server.close(r));
  return url;
}

describe("legacy compute replica task", () => {
  it("connects at once when kicked, not after its 30 s backoff", async () => {
    let url = await deadUrl();
    let attempts = 0;
    let connected: () => void = () => {};
    const up = new Promise<void>((r) => {
      connected = r;
    });
    const task = connectLegacyComputeReplica({
      instanceId: "u1",
      replicaId: "u2",
      epoch: 1,
      generation: 1n,
      location: () => {
        attempts++;
        return url;
      },
      replay: () => [],
      logger: pino({ level: "silent" }),
      onConnected: () => connected(),
      onResponses: () => {},
      onFailed: () => {},
      tuning: { backoff: { initialMs: 30_000, maxMs: 30_000, jitter: 0 }, connectTimeoutMs: 5000 },
    });
    tasks.push(task);
    // The first attempt fails (nothing listens) and the task waits out its backoff.
    while (attempts < 1) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    const waiting = attempts;
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts).toBe(waiting);
    expect(task.state).toBe("connecting");
    url = (await listen()).url;
    const t = performance.now();
    task.retryNow?.();
    await up;
    expect(performance.now() - t).toBeLessThan(10_000);
  }, 20_000);
});
