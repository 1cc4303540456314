/**
 * The e2e protocol driver's stream, opened while the server's GOAWAY is on its way (a replica
 * closing its connection), is refused unprocessed (HTTP/2 REFUSED_STREAM): the driver's `done`
 * is Unavailable, not the Internal connect-node 2.1 reports on its own
 * (`refusedStreamIsUnavailable`, read off `@mzts/controller-unified/replicas`' namespace). The
 * race is made deterministic by `startGoawayRace` (the server's bytes held while the stream
 * opens).
 */
import { Code } from "@connectrpc/connect";
import { type GoawayRace, startGoawayRace } from "@mzts/controller-unified/testing";
import { ComputeService } from "@mzts/protocol/wire";
import { afterEach, describe, expect, it } from "vitest";
import { computeDriver } from "../src/harness/driver.js";

let race: GoawayRace | undefined;
afterEach(async () => {
  await race?.close();
  race = undefined;
});

describe("e2e protocol driver", () => {
  it("ends Unavailable when its stream is refused by the server's GOAWAY", async () => {
    race = await startGoawayRace((router) =>
      router.service(ComputeService, {
        // Never reached: the stream is refused.
        async *control() {},
      }),
    );
    // The driver's session is the server's first: its GOAWAY leaves as it connects.
    race.goaway(0);
    const d = computeDriver(race.url);
    const e = await d.done;
    expect(race.streams).toBe(0); // refused, never processed
    expect(e?.code).toBe(Code.Unavailable);
    expect(e?.rawMessage).toMatch(/refused the request without processing it/);
  });
});
