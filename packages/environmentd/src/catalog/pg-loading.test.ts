/**
 * The PostgreSQL driver is loaded only for a PostgreSQL catalog: a process that imports the
 * package and runs a SQLite catalog (the default) never loads `pg`. Each case runs the BUILT
 * package (`dist`) in a fresh child process with a module load hook that records every file it
 * loads, and checks that the hook does see `pg` once a PostgreSQL catalog is opened.
 * (persist's `pg-loading.test.ts` checks the same of persist's PostgreSQL consensus.)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "../..");
const isPg = (u: string) => /\/node_modules\/(\.pnpm\/pg@[^/]+\/node_modules\/)?pg\//.test(u);

/** The line the child writes into the record between its SQLite and its PostgreSQL phase. */
const MARK = "-- postgres --";

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

/** Runs `body` (an async module body with `envd` = the built package) and lists loaded files. */
function filesLoadedBy(body: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "mzts-envd-pg-loading-"));
  dirs.push(dir);
  const hooks = join(dir, "hooks.mjs");
  const out = join(dir, "loaded.txt");
  writeFileSync(hooks, HOOKS);
  writeFileSync(out, "");
  const main = join(dir, "main.mjs");
  writeFileSync(
    main,
    `
    import { appendFileSync } from "node:fs";
    import { register } from "node:module";
    register(${JSON.stringify(pathToFileURL(hooks).href)});
    const envd = await import(${JSON.stringify(pathToFileURL(join(pkg, "dist/index.js")).href)});
    const dir = ${JSON.stringify(dir)};
    ${body}
  `,
  );
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
  it("is not loaded with the package or a SQLite catalog, only by the first PostgreSQL catalog", () => {
    // One child process (importing the package costs seconds): the SQLite phase, a marker line in
    // the record, then a PostgreSQL catalog on port 1, which refuses the connection: the driver
    // is loaded, then the connect fails in band.
    const loaded = filesLoadedBy(`
      const catalog = envd.openSqliteCatalog({ path: dir + "/catalog.sqlite" });
      const generation = await catalog.boot();
      await catalog.createCluster(generation, { name: "c" });
      if ((await catalog.snapshot()).clusters.length !== 1) throw new Error("snapshot");
      await catalog.close();
      appendFileSync(process.env.PG_LOADING_OUT, "${MARK}\\n");
      const e = await envd
        .openPostgresCatalog({ url: "postgres://u:p@127.0.0.1:1/db" })
        .then(() => undefined, (err) => err);
      if (!(e instanceof envd.CatalogUnavailable)) throw new Error("expected CatalogUnavailable");
    `);
    const mark = loaded.indexOf(MARK);
    expect(mark).toBeGreaterThan(0);
    const sqlitePhase = loaded.slice(0, mark);
    expect(sqlitePhase.some((u) => u.endsWith("/environmentd/dist/catalog/sqlite.js"))).toBe(true);
    expect(sqlitePhase.filter(isPg)).toEqual([]);
    expect(loaded.slice(mark + 1).filter(isPg).length).toBeGreaterThan(0);
  }, 120_000);
});
