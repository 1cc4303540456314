/**
 * `@mzts/persist/testing` — PostgreSQL test plumbing shared by every package whose tests need a
 * server (persist's consensus, environmentd's catalog): find out whether the server named by
 * `MZ_TEST_POSTGRES_URL` is reachable, and give each test run its own schema (dropped afterwards).
 *
 * Without the env var or with the server down, PostgreSQL tests are skipped with a message —
 * except under `CI`, where a missing server is a failure (CI starts one and sets the URL).
 */
import pg from "pg";

export type PostgresProbe =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Probes the test server once (2 s connect timeout). Throws under CI when unavailable; otherwise
 * warns that `component`'s PostgreSQL tests are skipped.
 */
export async function probePostgres(component: string): Promise<PostgresProbe> {
  const url = process.env.MZ_TEST_POSTGRES_URL;
  let probe: PostgresProbe;
  if (url === undefined || url === "") {
    probe = { ok: false, reason: "MZ_TEST_POSTGRES_URL is not set" };
  } else {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      probe = { ok: true, url };
    } catch (e) {
      probe = { ok: false, reason: `cannot reach ${redact(url)}: ${(e as Error).message}` };
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (!probe.ok) {
    if (process.env.CI) {
      throw new Error(
        `PostgreSQL tests must run under CI but ${probe.reason}; start PostgreSQL and export ` +
          "MZ_TEST_POSTGRES_URL=postgres://user:password@127.0.0.1:5432/db",
      );
    }
    console.warn(`[${component}] skipped: PostgreSQL tests (${probe.reason})`);
  }
  return probe;
}

/** A fresh schema name for this test run. */
export function uniqueSchema(tag: string): string {
  return `mzts_test_${tag}_${process.pid}_${Date.now().toString(36)}_${Math.floor(
    Math.random() * 1e6,
  )}`.toLowerCase();
}

/** Drops `schema` and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable url)";
  }
}
