/**
 * Runs the shard suite against every backend: memory stores, the embedded default (SQLite
 * consensus + file blobs under a temp data dir) and PostgreSQL consensus + file blobs (skipped
 * with a message when `MZ_TEST_POSTGRES_URL` is unset or unreachable, required under CI).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import type { Blob } from "./blob/blob.js";
import { createFileBlob } from "./blob/fs.js";
import { createMemoryBlob } from "./blob/memory.js";
import { createPersist } from "./client.js";
import type { Consensus } from "./consensus/consensus.js";
import { createMemoryConsensus } from "./consensus/memory.js";
import { createPostgresConsensus } from "./consensus/postgres.js";
import { filesUnder } from "./testdata/files.js";
import { describeShardSuite } from "./testdata/shard-suite.js";
import { dropSchema, probePostgres, uniqueSchema } from "./testing.js";

{
  let consensus: Consensus;
  let blob: Blob;
  describeShardSuite("memory", {
    async open(config) {
      consensus = createMemoryConsensus();
      blob = createMemoryBlob();
      return createPersist({ ...config, consensus, blob });
    },
    async openAgain(config) {
      return createPersist({ ...config, consensus, blob });
    },
    blobKeys: () => blob.list(""),
    async cleanup() {},
  });
}

{
  let dir = "";
  describeShardSuite("sqlite + files", {
    async open(config) {
      dir = mkdtempSync(join(tmpdir(), "mzts-persist-shard-"));
      return createPersist({ ...config, dataDir: dir });
    },
    async openAgain(config) {
      return createPersist({ ...config, dataDir: dir });
    },
    async blobKeys() {
      return filesUnder(join(dir, "blob"));
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

const pg = await probePostgres("persist");
if (pg.ok) {
  let dir = "";
  let schema = "";
  const schemas: string[] = [];
  const opened: Consensus[] = [];
  const consensus = async () => {
    const c = await createPostgresConsensus(pg.url, { schema });
    opened.push(c);
    return c;
  };
  describeShardSuite("postgres + files", {
    async open(config) {
      dir = mkdtempSync(join(tmpdir(), "mzts-persist-shard-pg-"));
      schema = uniqueSchema("shard");
      schemas.push(schema);
      return createPersist({ ...config, consensus: await consensus(), blob: createFileBlob(dir) });
    },
    async openAgain(config) {
      return createPersist({ ...config, consensus: await consensus(), blob: createFileBlob(dir) });
    },
    async blobKeys() {
      return filesUnder(dir);
    },
    async cleanup() {
      for (const c of opened.splice(0)) await c.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  afterAll(async () => {
    for (const s of schemas) await dropSchema(pg.url, s);
  });
} else {
  describe.skip(`shard suite: postgres + files (skipped: ${pg.reason})`, () => {
    it("runs when MZ_TEST_POSTGRES_URL points at a reachable server", () => {});
  });
}
