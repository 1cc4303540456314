/**
 * Runs the consensus contract against every implementation: memory, SQLite in both commit modes
 * (a temp file, with a second connection as "another process") and PostgreSQL (a unique schema per run; skipped with
 * a message when `MZ_TEST_POSTGRES_URL` is unset or unreachable, required under CI).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { UnsupportedFormatVersion } from "../errors.js";
import { describeConsensusContract } from "../testdata/consensus-contract.js";
import { dropSchema, probePostgres, uniqueSchema } from "../testing.js";
import { createMemoryConsensus } from "./memory.js";
import { createPostgresConsensus } from "./postgres.js";
import { createSqliteConsensus, SQLITE_CONSENSUS_SCHEMA_VERSION } from "./sqlite.js";

describeConsensusContract("memory", { open: async () => createMemoryConsensus() });

for (const commit of ["thread", "turn"] as const) {
  let dir = "";
  describeConsensusContract(`sqlite (commit ${commit})`, {
    async open() {
      dir = mkdtempSync(join(tmpdir(), "mzts-persist-consensus-"));
      return createSqliteConsensus(join(dir, "c.sqlite"), { commit });
    },
    async openAgain() {
      return createSqliteConsensus(join(dir, "c.sqlite"), { commit });
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

describe("sqlite consensus specifics", () => {
  it("refuses a database written by a newer schema version", () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-persist-consensus-"));
    try {
      const file = join(dir, "c.sqlite");
      createSqliteConsensus(file).close();
      const db = new Database(file);
      db.pragma(`user_version = ${SQLITE_CONSENSUS_SCHEMA_VERSION + 1}`);
      db.close();
      expect(() => createSqliteConsensus(file)).toThrow(UnsupportedFormatVersion);
      expect(() => createSqliteConsensus(file)).toThrow(
        /version 2 is newer than the supported version 1/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("uses WAL and synchronous=FULL by default", () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-persist-consensus-"));
    try {
      const file = join(dir, "c.sqlite");
      const c = createSqliteConsensus(file);
      const db = new Database(file);
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      db.close();
      void c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const pg = await probePostgres("persist");
if (pg.ok) {
  const schemas: string[] = [];
  let current = "";
  describeConsensusContract("postgres", {
    async open() {
      current = uniqueSchema("contract");
      schemas.push(current);
      return createPostgresConsensus(pg.url, { schema: current });
    },
    async openAgain() {
      return createPostgresConsensus(pg.url, { schema: current });
    },
  });
  afterAll(async () => {
    for (const s of schemas) await dropSchema(pg.url, s);
  });
  describe("postgres consensus specifics", () => {
    it("rejects identifiers that are not plain lowercase SQL names", async () => {
      await expect(createPostgresConsensus(pg.url, { schema: 'x"; drop' })).rejects.toThrow(
        RangeError,
      );
    });
  });
} else {
  describe.skip(`consensus contract: postgres (skipped: ${pg.reason})`, () => {
    it("runs when MZ_TEST_POSTGRES_URL points at a reachable server", () => {});
  });
}
