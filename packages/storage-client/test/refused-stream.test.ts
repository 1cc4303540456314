/**
 * The legacy storage replica task's stream, opened while the replica's GOAWAY is on its way (the
 * replica closing its connection), is refused unprocessed (HTTP/2 REFUSED_STREAM): the task fails
 * with Unavailable, not the Internal connect-node 2.1 reports on its own
 * (`refusedStreamIsUnavailable`). The task reconnects either way (any failure rehydrates); the
 * code is what its log line and the controller's `replicaFailed` event carry. The race is made
 * deterministic by `startGoawayRace` (the server's bytes held while the stream opens).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type GoawayRace, startGoawayRace } from "@mzts/controller-unified/testing";
import { StorageService } from "@mzts/protocol/wire";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { connectLegacyStorageReplica } from "../src/index.js";

let race: GoawayRace | undefined;
afterEach(async () => {
  await race?.close();
  race = undefined;
});

describe("legacy storage replica task", () => {
  it("fails with Unavailable when its stream is refused by the replica's GOAWAY", async () => {
    const r = await startGoawayRace((router) =>
      router.service(StorageService, {
        // Never reached: the stream is refused.
        async *control() {},
      }),
    );
    race = r;
    const failed = new Promise<Error>((resolve) => {
      connectLegacyStorageReplica({
        instanceId: "u1",
        replicaId: "r1",
        epoch: 1,
        generation: 1n,
        location: () => r.url,
        replay: () => [],
        logger: pino({ level: "silent" }),
        // The task's liveness probe connects first (its constructor), then the task's own
        // session, the server's second: its GOAWAY leaves now, held until the stream is sent.
        onConnected: () => r.goaway(1),
        onResponses: () => {},
        onFailed: (_epoch, error) => resolve(error),
      });
    });
    const e = await failed;
    expect(r.streams).toBe(0); // refused, never processed
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as ConnectError).code).toBe(Code.Unavailable);
    expect((e as ConnectError).rawMessage).toMatch(/refused the request without processing it/);
  });
});
