/**
 * A source import that stops for good on ONE worker stalls the dataflow on every worker (the
 * index's frontier needs every worker's input), so every worker must answer the peeks waiting on
 * it, or the merged answer never comes: the worker whose reader stopped tells the others
 * (`SourceFailures`, `render/source-failures.ts`) and each answers with the error naming the source, the shard, the
 * since violation and what to do next. Two `ComputeState`s in process over an in-memory mesh,
 * real persist: worker 1 builds the dataflow only after worker 0's since handle (the only reader
 * of the shard: no controller hold) moved the shard's since past the as-of, so worker 1's
 * snapshot hits the since violation of the race the notes of session 13 describe.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist } from "@mzts/persist";
import type { PeekResponse } from "@mzts/protocol";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ComputeState, type WorkerResponse } from "./compute-state.js";
import { LegacyComputeLogging } from "./legacy/logging/legacy-logging.js";
import {
  append,
  cleanups,
  INSTANCE,
  memoryMesh,
  peekOf,
  runCleanups,
  sleep,
  sourceIndex,
} from "./testdata/in-process-workers.js";

afterEach(runCleanups);

describe("a source import stopped on one worker", () => {
  it("every worker answers the waiting peek with the source's error instead of hanging", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mzts-compute-stalled-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const persist = await createPersist({ dataDir: dir });
    cleanups.push(() => persist.close());
    const nums = await persist.openShard("nums", { create: true });
    for (let t = 0n; t < 5n; t++) await append(nums, t, t);

    const meshes = memoryMesh(2);
    const out: WorkerResponse[][] = [[], []];
    const states = meshes.map((mesh, i) => {
      const logger = pino({ level: "silent" });
      return new ComputeState(i, 2, {
        mesh,
        config: { dataDir: dir, pollIntervalMs: 5, replicaId: "r1", sinceDowngradeIntervalMs: 10 },
        respond: (r) => out[i]!.push(r),
        requestStep: () => {},
        logger,
        logging: new LegacyComputeLogging({ worker: i, log: logger }),
      });
    });
    cleanups.push(() => Promise.all(states.map((s) => s.close())));
    const turn = async () => {
      for (const s of states) for (let i = 0; i < 100 && s.step(); i++);
      for (const s of states) s.maintain();
      await sleep(2);
    };
    const until = async (cond: () => boolean | Promise<boolean>, what: string, ms = 10_000) => {
      const deadline = Date.now() + ms;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await turn();
      }
    };

    const df = sourceIndex("ix", "nums", 0n);
    for (const s of states) s.apply(INSTANCE);
    states[0]!.apply({ kind: "createDataflow", dataflow: df });
    // Worker 0 reads on; its handle, the shard's only reader, takes the since past the as-of.
    await until(async () => (await nums.since()) !== 0n, "the shard's since past the as-of 0");
    states[1]!.apply({ kind: "createDataflow", dataflow: df });

    const p = peekOf("ix", 2n);
    for (const s of states) s.apply({ kind: "peek", peek: p });
    const answers = (): PeekResponse[] =>
      out.flatMap((o) =>
        o.flatMap((r) => (r.kind === "peekResponse" && r.uuid === p.uuid ? [r.response] : [])),
      );
    await until(() => answers().length === 2, "both workers' answers", 15_000);
    for (const a of answers()) {
      expect(a.kind).toBe("error");
      const message = a.kind === "error" ? a.message : "";
      expect(message).toMatch(new RegExp(`^peek ${p.uuid} of ix cannot be answered`));
      expect(message).toContain("source ix-src (shard nums) stopped on worker 1");
      expect(message).toContain("since violation");
      expect(message).toContain("drop and recreate");
    }
  }, 30_000);
});
