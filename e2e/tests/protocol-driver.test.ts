/**
 * The e2e protocol driver (`src/harness/driver.ts`):
 * - its stream, opened while the server's GOAWAY is on its way (a replica closing its
 *   connection), is refused unprocessed (HTTP/2 REFUSED_STREAM): the driver's `done` is
 *   Unavailable, not the Internal connect-node 2.1 reports on its own
 *   (`refusedStreamIsUnavailable`, read off `@mzts/controller-unified/replicas`' namespace). The
 *   race is made deterministic by `startGoawayRace` (the server's bytes held while the stream
 *   opens);
 * - a wait that times out says where it stuck: how many responses arrived, and how many request
 *   messages the transport has not taken yet (the phase-1 bench's one unanswered peek could not
 *   tell a request stuck in the client from an answer the replica never sent).
 */
import { Code } from "@connectrpc/connect";
import { type GoawayRace, startGoawayRace } from "@mzts/controller-unified/testing";
import type { ComputeCommand } from "@mzts/protocol";
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

describe("e2e protocol driver timeouts", () => {
  /** A server whose handler never reads its requests nor answers. */
  const deaf = () =>
    startGoawayRace((router) =>
      router.service(ComputeService, {
        async *control() {
          await new Promise(() => {});
        },
      }),
    );
  const bigPeek = (i: number): ComputeCommand => ({
    kind: "peek",
    peek: {
      uuid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
      target: { kind: "index", id: "u2" },
      arity: 1,
      timestamp: 0n,
      literalConstraints: [["x".repeat(4000)]],
      mapFilterProject: { exprs: [], predicates: [], projection: [0] },
      finishing: { orderBy: [], offset: 0, project: [0] },
    },
  });

  it("names the responses received and the requests the transport has not taken", async () => {
    race = await deaf();
    const d = computeDriver(race.url);
    await expect(d.until(() => false, "an answer", 300)).rejects.toThrow(
      /timed out after 300 ms waiting for an answer \(0 responses received; 0 request messages sent but not yet taken by the transport\)/,
    );
    // The server reads nothing: once its flow-control window (64 KiB) is full, the transport
    // takes no more request messages.
    for (let i = 0; i < 40; i++) d.send([bigPeek(i)]);
    const e = await d
      .until(() => false, "an answer", 500)
      .then(
        () => undefined,
        (x: unknown) => x as Error,
      );
    const untaken = Number(/; (\d+) request messages sent but not yet taken/.exec(e!.message)?.[1]);
    expect(untaken).toBeGreaterThan(0);
    expect(untaken).toBeLessThan(40);
  });
});
