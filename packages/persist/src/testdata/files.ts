/**
 * File-system helpers for tests: list every file under a directory (dot-files included).
 */
import { type Dirent, readdirSync } from "node:fs";
import { join, relative } from "node:path";

/** Every file under `dir` (dot-files included), relative, with `/` separators. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split("\\").join("/"));
    }
  };
  walk(dir);
  return out;
}
