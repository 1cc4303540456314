/**
 * README examples are tests (shared/style.md §12): every ```ts block of README.md must appear
 * verbatim in this file, and each runs here as a test.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createFileBlob,
  createPersist,
  createPostgresConsensus,
  type Frontier,
  UpperMismatch,
} from "./testdata/readme-imports.js";
import { dropSchema, probePostgres, uniqueSchema } from "./testing.js";

const pg = await probePostgres("persist");
const here = dirname(fileURLToPath(import.meta.url));
let dataDir = "";
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "mzts-persist-readme-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe("README", () => {
  it("every ts block of README.md is in this file", () => {
    const readme = readFileSync(join(here, "..", "README.md"), "utf8");
    const self = readFileSync(fileURLToPath(import.meta.url), "utf8");
    const norm = (s: string) => s.replace(/\s+/g, " ").trim();
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const b of blocks) expect(norm(self), b).toContain(norm(b));
  });

  it("createPersist: append and snapshot", async () => {
    const persist = await createPersist({ dataDir });
    const shard = await persist.openShard("orders", { create: true });
    await shard.compareAndAppend(
      [
        [[1n, "apple"], 0n, 1],
        [[2n, "pear"], 3n, 1],
      ],
      0n, // expectedUpper
      5n, // newUpper
    );
    const rows = await shard.snapshot(4n); // [[row, 4n, count], ...]
    await persist.close();
    expect(rows.length).toBe(2);
  });

  it("compareAndAppend: retry on UpperMismatch", async () => {
    const persist = await createPersist({ dataDir });
    const shard = await persist.openShard("orders", { create: true });
    let upper: Frontier = await shard.upper();
    for (;;) {
      try {
        await shard.compareAndAppend(
          [[[3n, "plum"], upper as bigint, 1]],
          upper,
          (upper as bigint) + 1n,
        );
        break;
      } catch (e) {
        if (!(e instanceof UpperMismatch)) throw e;
        upper = e.current; // someone else wrote first: rebuild the batch at the new upper
      }
    }
    await persist.close();
    expect(upper).toBe(0n);
  });

  it("listen", async () => {
    const persist = await createPersist({ dataDir });
    const shard = await persist.openShard("orders", { create: true });
    const listener = shard.listen(0n, { pollIntervalMs: 20 });
    await shard.compareAndAppend([[["hello"], 0n, 1]], 0n, 1n);
    for await (const { lower, upper, updates } of listener) {
      console.log(lower, upper, updates.length); // 0n 1n 1
      break; // or listener.close() from elsewhere
    }
    await persist.close();
  });

  it("since handles and maintenance", async () => {
    const persist = await createPersist({ dataDir });
    const shard = await persist.openShard("orders", { create: true });
    await shard.compareAndAppend([], 0n, 100n);
    const hold = await shard.openSinceHandle("controller-read-hold");
    await hold.downgradeSince(90n); // reads at >= 90 stay valid; earlier times may compact
    const report = await shard.maintenance(); // expire lapsed leases, compact, truncate, sweep
    await hold.expire();
    await persist.close();
    expect(report.expiredReaders).toEqual([]);
  });

  it("dropShard", async () => {
    const persist = await createPersist({ dataDir });
    await persist.openShard("scratch", { create: true });
    await persist.dropShard("scratch"); // upper = since = EMPTY, blobs and history deleted
    await persist.close();
  });

  it("metrics and logs", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (l: string) => lines.push(l) });
    const registry = new Registry();
    const persist = await createPersist({ dataDir, logger, registry });
    await persist.openShard("orders", { create: true });
    console.log(await registry.metrics()); // mz_persist_cmd_total{cmd="open_shard",outcome="ok"} 1 …
    await persist.close();
    expect(await registry.metrics()).toMatch(
      /mz_persist_cmd_total\{cmd="open_shard",outcome="ok"\} 1/,
    );
    expect(lines.join("")).toMatch(/persist: created shard/);
  });

  it.skipIf(!pg.ok)("createPostgresConsensus", async () => {
    const url = pg.ok ? pg.url : "";
    const schema = uniqueSchema("readme");
    try {
      const consensus = await createPostgresConsensus(url, { schema, table: "consensus" });
      const persist = await createPersist({ consensus, blob: createFileBlob(`${dataDir}/blob`) });
      await persist.openShard("orders", { create: true });
      await persist.close();
      await consensus.close(); // passed-in stores are closed by their owner
    } finally {
      await dropSchema(url, schema);
    }
  });
});
