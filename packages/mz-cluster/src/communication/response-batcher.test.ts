import { describe, expect, it } from "vitest";
import { ResponseBatcher } from "./response-batcher.js";

describe("ResponseBatcher", () => {
  it("sends one message per turn and nonce, in order; flush sends at once", async () => {
    const sent: Array<[string | null, number[]]> = [];
    const b = new ResponseBatcher<number>((n, rs) => sent.push([n, rs]));
    b.push("a", 1);
    b.push("a", 2);
    b.push("b", 3);
    expect(sent).toEqual([["a", [1, 2]]]);
    b.flush();
    expect(sent).toEqual([
      ["a", [1, 2]],
      ["b", [3]],
    ]);
    b.push("b", 4);
    await Promise.resolve();
    expect(sent.at(-1)).toEqual(["b", [4]]);
    b.flush();
    expect(sent).toHaveLength(3);
  });
});
