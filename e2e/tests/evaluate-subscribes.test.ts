/**
 * `startSubscribes` (no processes, a fake API): a pair whose side is refused because its since
 * passed the chosen as-of before the subscribe reached the replica (a write frontier that jumped,
 * e.g. catching up after a restart) is opened again, both sides, at a fresh as-of — the race seen
 * once in CI as "the stream failed after 0 batches: … readable from since …".
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type EvaluationContext, sideName } from "../src/evaluate/context.js";
import { startSubscribes } from "../src/evaluate/subscribes.js";

function fakeContext(refusals: number) {
  let upper = 100n;
  let refused = 0;
  const opened: Array<{ object: string; asOf: bigint }> = [];
  const sides = { baseline: { clusterId: "u2" }, candidate: { clusterId: "u3" } };
  const api = {
    async status() {
      const collections = (suffix: string) =>
        ["winning", "fixed_bids"].map((n) => ({
          name: sideName(suffix === "off" ? "baseline" : "candidate", n),
          since: upper - 10n,
          writeFrontier: upper,
        }));
      return {
        clusters: [
          { id: "u2", collections: collections("off") },
          { id: "u3", collections: collections("on") },
        ],
      };
    },
    async *subscribe(req: { object: string; asOf: bigint }, signal: AbortSignal) {
      opened.push(req);
      if (req.object.startsWith("winning_on") && refused < refusals) {
        refused++;
        upper += 50n; // the since moved past the as-of meanwhile
        throw new ConnectError(
          `cannot read ${req.object} at ${req.asOf}: it is readable from since ${req.asOf + 1n} on`,
          Code.FailedPrecondition,
        );
      }
      yield { updates: [], upper: req.asOf + 1n };
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    },
  };
  const ctx = {
    session: { api },
    sides,
    name: (side: "baseline" | "candidate", neutral: string) => sideName(side, neutral),
  } as unknown as EvaluationContext;
  return { ctx, opened };
}

describe("startSubscribes", () => {
  it("opens a pair again, both sides at a fresh as-of, when a since passed the first", async () => {
    const { ctx, opened } = fakeContext(1);
    const subs = await startSubscribes(ctx);
    const winning = opened.filter((o) => o.object.startsWith("winning"));
    expect(winning.map((o) => o.asOf)).toEqual([99n, 99n, 149n, 149n]);
    expect(await subs.stopAndCompare()).toEqual([]);
  });

  it("gives up after its attempts and reports the refusal as a difference", async () => {
    const { ctx } = fakeContext(100);
    const subs = await startSubscribes(ctx);
    const diffs = await subs.stopAndCompare();
    expect(JSON.stringify(diffs)).toMatch(/readable from since/);
  });
});
