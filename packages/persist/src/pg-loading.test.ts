/**
 * The PostgreSQL driver is loaded only for a PostgreSQL store: a process that uses persist on
 * SQLite (every replica's default) never loads `pg`. Each case runs the BUILT package (`dist`) in
 * a fresh child process with a module load hook that records every file it loads; the second
 * case checks that the hook does see `pg` once a PostgreSQL consensus is asked for.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const isPg = (u: string) => /\/node_modules\/(\.pnpm\/pg@[^/]+\/node_modules\/)?pg\//.test(u);

const HOOKS = `
import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(process.env.PG_LOADING_OUT, url + "\\n");
  return next(url, context);
}
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs `body` (an async module body with `persist` = the built package) and lists loaded files. */
function filesLoadedBy(body: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "mzts-pg-loading-"));
  dirs.push(dir);
  const hooks = join(dir, "hooks.mjs");
  const out = join(dir, "loaded.txt");
  writeFileSync(hooks, HOOKS);
  writeFileSync(out, "");
  const script = `
    import { register } from "node:module";
    register(${JSON.stringify(pathToFileURL(hooks).href)});
    const persist = await import(${JSON.stringify(pathToFileURL(join(pkg, "dist/index.js")).href)});
    const dataDir = ${JSON.stringify(join(dir, "data"))};
    ${body}
  `;
  // A file, not `--input-type=module -e`: persist's SQLite writer thread inherits execArgv.
  const main = join(dir, "main.mjs");
  writeFileSync(main, script);
  execFileSync(process.execPath, [main], {
    cwd: pkg,
    env: { ...process.env, PG_LOADING_OUT: out },
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 60_000,
  });
  return readFileSync(out, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
}

describe("loading the PostgreSQL driver", () => {
  it("a SQLite-only process never loads pg", () => {
    const loaded = filesLoadedBy(`
      const client = await persist.createPersist({ dataDir });
      const shard = await client.openShard("s", { create: true });
      await shard.compareAndAppend([[["a"], 0n, 1]], 0n, 1n);
      if ((await shard.snapshot(0n)).length !== 1) throw new Error("snapshot");
      await client.close();
    `);
    expect(loaded.some((u) => u.endsWith("/persist/dist/consensus/sqlite.js"))).toBe(true);
    expect(loaded.filter(isPg)).toEqual([]);
  }, 120_000);

  it("loads pg on the first PostgreSQL consensus", () => {
    // Port 1 refuses the connection: the driver is loaded, then the connect fails in band.
    const loaded = filesLoadedBy(`
      const e = await persist.createPostgresConsensus("postgres://u:p@127.0.0.1:1/db").then(
        () => undefined,
        (err) => err,
      );
      if (!(e instanceof persist.StorageUnavailable)) throw new Error("expected StorageUnavailable");
    `);
    expect(loaded.filter(isPg).length).toBeGreaterThan(0);
  }, 120_000);
});
