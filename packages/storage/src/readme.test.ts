/**
 * Runs the TypeScript snippets of the README's "Load generators" section (style §12: README
 * examples are tests). Each snippet is written to a temporary module with `@mzts/storage`
 * pointing at this package's `src/index.ts` and `console.assert` made to throw, then imported.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const section = readme.slice(readme.indexOf("## Load generators")).split(/\n## /)[0] ?? "";
const snippets = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
const indexPath = fileURLToPath(new URL("./index.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mzts-storage-readme-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README: Load generators", () => {
  it("has snippets", () => {
    expect(snippets.length).toBeGreaterThan(0);
  });

  snippets.forEach((code, i) => {
    it(`snippet ${i + 1} runs and its assertions hold`, async () => {
      const file = join(dir, `snippet-${i}.ts`);
      const body = code
        .replaceAll('"@mzts/storage"', JSON.stringify(indexPath))
        .replaceAll("console.assert(", "check(");
      const prelude =
        "function check(c: unknown): void { if (!c) throw new Error('README assertion failed'); }\n";
      writeFileSync(file, prelude + body);
      await import(/* @vite-ignore */ file);
    });
  });
});
