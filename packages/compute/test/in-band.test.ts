/**
 * A replica answers in band what it cannot apply (design §3 class 2) and carries on, on both
 * command paths: a peek whose key rows do not fit the index (an empty key row, which used to
 * crash every worker in `datumKey` under `Arrangement.lookup`) gets a peek error response; the
 * next peek of the same index still answers.
 */
import type { Row } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import { dataflow, peekOf, Replica, removeDir, START_COMMANDS, show, tempDir } from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ROWS: Array<[Row, number]> = [
  [[1n, "a"], 1],
  [[2n, "b"], 1],
];

async function start(path: "unified" | "legacy", W: number): Promise<Replica> {
  const dir = await tempDir();
  cleanups.push(() => removeDir(dir));
  const rep = new Replica(path, W, dir);
  cleanups.push(() => rep.close());
  await rep.rt.ready;
  rep.connect("n1");
  rep.send(...START_COMMANDS, {
    kind: "createDataflow",
    dataflow: dataflow({
      asOf: 0n,
      objectsToBuild: [{ id: "u1", plan: { kind: "constant", arity: 2, rows: ROWS } }],
      indexExports: [{ id: "u2", objectId: "u1", key: [0] }],
    }),
  });
  return rep;
}

describe("in-band answers", () => {
  for (const path of ["unified", "legacy"] as const) {
    it(`${path}: a peek with an empty key row gets a peek error and the workers carry on`, async () => {
      const rep = await start(path, 2);
      const good = await rep.peek(peekOf("u2", 2, 0n, { literalConstraints: [[1n]] }));
      expect(show(good.response)).toBe(show({ kind: "rows", rows: [[[1n, "a"], 1]] }));

      const bad = await rep.peek(peekOf("u2", 2, 0n, { literalConstraints: [[]] }));
      expect(bad.response.kind).toBe("error");
      expect(bad.response.kind === "error" && bad.response.message).toMatch(
        /peek .* cannot be answered: .*key row 0 has 0 columns, the index key has 1/,
      );

      const wide = await rep.peek(peekOf("u2", 2, 0n, { literalConstraints: [[1n, "a"]] }));
      expect(wide.response.kind === "error" && wide.response.message).toMatch(
        /key row 0 has 2 columns, the index key has 1/,
      );

      const again = await rep.peek(peekOf("u2", 2, 0n, { literalConstraints: [[2n]] }));
      expect(show(again.response)).toBe(show({ kind: "rows", rows: [[[2n, "b"], 1]] }));
    }, 30_000);
  }
});
