/**
 * mzctl's `--help`: every command and subcommand prints its usage and exits 0 (a bigint option
 * default once made `sources create --help` crash with "Do not know how to serialize a BigInt").
 */
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram, runCli } from "./program.js";
import { bufferIo } from "./render.js";

const capture = () => bufferIo();

/** Every command path of the program, e.g. `["sources", "create"]`. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return [path, ...commandPaths(c, path)];
  });
}

describe("mzctl --help", () => {
  const paths = commandPaths(createProgram(capture()));

  it("knows the commands it is checked on", () => {
    expect(paths).toContainEqual(["sources", "create"]);
    expect(paths.length).toBeGreaterThan(10);
  });

  it.each([[[]], ...paths.map((p) => [p])])("%j --help exits 0 with its usage", async (path) => {
    const io = capture();
    const code = await runCli(["node", "mzctl", ...path, "--help"], io);
    expect({ code, err: io.err }).toEqual({ code: 0, err: "" });
    expect(io.out).toContain("Usage: mzctl");
  });

  it("shows the --seed default in sources create --help", async () => {
    const io = capture();
    expect(await runCli(["node", "mzctl", "sources", "create", "--help"], io)).toBe(0);
    expect(io.out).toMatch(/--seed <n>\s+generator seed \(default: 1\)/);
  });
});
