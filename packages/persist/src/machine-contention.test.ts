/**
 * Commands of one shard issued together in one process: with the consensus committing
 * asynchronously (grouped, on a writer thread or at the end of the turn), N concurrent commands
 * that all start from the same cached state would lose N−1 compare-and-sets per round and retry
 * into `ContentionExceeded` (a restarted replica re-registering 300 readers of one source shard
 * never rehydrated). The machine runs one compare-and-set loop per shard at a time; the commands
 * that arrive meanwhile run next as one group, from the state their predecessor wrote: no lost
 * race, and a handful of consensus writes instead of 300.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryBlob } from "./blob/memory.js";
import { createPersist, type PersistClient } from "./client.js";
import { createSqliteConsensus } from "./consensus/sqlite.js";

let dir = "";
const clients: PersistClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe.each(["thread", "turn"] as const)(
  "concurrent commands of one shard (commit %s)",
  (commit) => {
    it("300 readers registering at once all succeed without a lost race, in a few consensus writes", async () => {
      dir = mkdtempSync(join(tmpdir(), "mzts-persist-contention-"));
      const consensus = createSqliteConsensus(join(dir, "c.sqlite"), { commit });
      const client = await createPersist({ consensus, blob: createMemoryBlob() });
      clients.push(client);
      const shard = await client.openShard("s", { create: true });
      const handles = await Promise.all(
        Array.from({ length: 300 }, (_, i) => shard.openSinceHandle(`reader-${i}`)),
      );
      expect(handles).toHaveLength(300);
      const mismatches = (
        await client.registry.getSingleMetric("mz_persist_cas_mismatch_total")?.get()
      )?.values.reduce((n, v) => n + v.value, 0);
      expect(mismatches ?? 0).toBe(0);
      // Created at 1, the first registration alone, the other 299 as one group.
      expect((await consensus.head("s"))?.seqNo).toBeLessThanOrEqual(5n);
      await Promise.all(handles.map((h) => h.expire()));
      await consensus.close();
    });
  },
);
