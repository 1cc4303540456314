#!/usr/bin/env node
/**
 * Staleness check for the committed generated code (packages/protocol/src/gen).
 *
 * Regenerates the protos into a temporary directory with the root buf.gen.yaml (same plugin,
 * same options; only `out` is changed) and compares the result file by file with src/gen. Exits
 * 1 with a list of missing, extra and differing files when they disagree, so stale generated code
 * fails the build and CI. It does not use git, so it works in any checkout or tarball.
 *
 * Usage: node scripts/check-generated.mjs   (from anywhere; it runs buf from the repo root)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(pkgDir, "../..");
const committed = join(pkgDir, "src/gen");
const OUT = "out: packages/protocol/src/gen";

/** Every file under `dir`, as paths relative to it, sorted. */
function listFiles(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out = out.concat(listFiles(p).map((f) => join(e.name, f)));
    else out.push(e.name);
  }
  return out.sort();
}

const tmp = mkdtempSync(join(tmpdir(), "mzts-protocol-gen-"));
try {
  const template = readFileSync(join(root, "buf.gen.yaml"), "utf8");
  if (!template.includes(OUT)) {
    throw new Error(
      `buf.gen.yaml no longer contains "${OUT}"; update ${relative(root, fileURLToPath(import.meta.url))}`,
    );
  }
  const fresh = join(tmp, "gen");
  const templatePath = join(tmp, "buf.gen.yaml");
  writeFileSync(templatePath, template.replace(OUT, `out: ${JSON.stringify(fresh)}`));
  execFileSync(join(root, "node_modules/.bin/buf"), ["generate", "--template", templatePath], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });

  const want = listFiles(fresh);
  const have = listFiles(committed);
  const problems = [];
  for (const f of want) {
    if (!have.includes(f)) problems.push(`missing: src/gen/${f}`);
    else if (!readFileSync(join(fresh, f)).equals(readFileSync(join(committed, f)))) {
      problems.push(`differs: src/gen/${f}`);
    }
  }
  for (const f of have) if (!want.includes(f)) problems.push(`extra:   src/gen/${f}`);

  if (problems.length > 0) {
    console.error(
      `@mzts/protocol: generated code is stale (${problems.length} file(s)):\n  ${problems.join("\n  ")}\n` +
        "Regenerate with `pnpm --filter @mzts/protocol generate` (buf generate from the repo root) " +
        "and commit packages/protocol/src/gen. Never edit src/gen by hand.",
    );
    process.exitCode = 1;
  } else {
    console.log(`@mzts/protocol: src/gen is up to date (${want.length} files)`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
