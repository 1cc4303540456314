/**
 * `loadedModules(cwd, specifiers)`: the modules (file URLs) that importing `specifiers` from
 * `cwd` loads — the static import graph, in a fresh child process with a module load hook, whether
 * or not evaluating them then throws (a worker entry run outside a worker thread). Startup-import
 * tests use it to keep heavy modules out of what a (re)starting replica's threads load
 * (issue 16, rehydration).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const HOOKS = `
import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(process.env.MZTS_LOADED_MODULES_OUT, url + "\\n");
  return next(url, context);
}
`;

/** @throws Error when the child process fails to start (not when an import throws). */
export function loadedModules(cwd: string, specifiers: readonly string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "mzts-loaded-modules-"));
  try {
    const hooks = join(dir, "hooks.mjs");
    const out = join(dir, "loaded.txt");
    writeFileSync(hooks, HOOKS);
    writeFileSync(out, "");
    const script = `
      import { register } from "node:module";
      register(${JSON.stringify(pathToFileURL(hooks).href)});
      for (const s of ${JSON.stringify(specifiers)}) {
        try { await import(s); } catch { /* evaluation may throw outside its thread: loaded anyway */ }
      }
    `;
    execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd,
      env: { ...process.env, MZTS_LOADED_MODULES_OUT: out },
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 60_000,
    });
    return [
      ...new Set(
        readFileSync(out, "utf8")
          .split("\n")
          .filter((l) => l.length > 0),
      ),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
