/**
 * The catalog's stored specs round-trip (what a row holds decodes to what the object runs), and
 * `@mzts/protocol/wire` stays in transport code: only `api/` (the server) and `cli/` (a client)
 * import it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plan } from "@mzts/expr";
import { describe, expect, it } from "vitest";
import {
  decodeSourceConnection,
  decodeViewPlan,
  encodeSourceSpec,
  encodeViewDefinition,
} from "./specs.js";

describe("stored specs", () => {
  it("a source's spec decodes to its load generator", () => {
    const loadGenerator = {
      kind: "loadGenerator" as const,
      generator: { kind: "counter" as const },
      seed: 7n,
      tickIntervalMs: 250,
      deterministic: { startTimeMs: 1_000n, maxTicks: 4n },
    };
    const spec = encodeSourceSpec({ name: "s", cluster: "c", loadGenerator });
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec); // plain JSON, storable as is
    expect(decodeSourceConnection(spec)).toEqual(loadGenerator);
  });

  it("a view's definition decodes to its plan", () => {
    const plan: Plan = { kind: "get", id: "u3", arity: 2 };
    const definition = encodeViewDefinition({ name: "v", cluster: "c", plan });
    expect(decodeViewPlan(definition)).toEqual(plan);
  });
});

describe("@mzts/protocol/wire", () => {
  it("is imported only by transport code (api/, cli/)", () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), "..");
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) {
          const rel = relative(src, path);
          if (rel.startsWith("api/") || rel.startsWith("cli/")) continue;
          if (/from "@mzts\/protocol\/wire"/.test(readFileSync(path, "utf8"))) offenders.push(rel);
        }
      }
    };
    walk(src);
    expect(offenders).toEqual([]);
  });
});
