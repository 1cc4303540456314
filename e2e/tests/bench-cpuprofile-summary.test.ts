/**
 * `pnpm bench --profile`'s summary, without profiling anything: self time is the sum of the
 * samples' time deltas per function (a function on two stacks is one row), idle time is left out
 * of the busy total, modules are named by package, and a real profile of this process parses.
 */
import { Session } from "node:inspector/promises";
import { describe, expect, it } from "vitest";
import {
  type CpuProfile,
  formatSummary,
  moduleOf,
  summarize,
} from "../bench/profile/cpuprofile-summary.js";
import { threadOf } from "../bench/profile/profile.js";

const frame = (functionName: string, url = "", lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
});
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 3, 6] },
    { id: 2, callFrame: frame("(idle)") },
    {
      id: 3,
      callFrame: frame("peek", "file:///r/packages/environmentd/dist/api.js", 9),
      children: [4],
    },
    {
      id: 4,
      callFrame: frame(
        "encode",
        "file:///r/node_modules/.pnpm/@bufbuild+protobuf@2/node_modules/@bufbuild/protobuf/dist/x.js",
        1,
      ),
      children: [5],
    },
    // `peek` again, called by `encode` (recursion): one function, counted once per sample.
    { id: 5, callFrame: frame("peek", "file:///r/packages/environmentd/dist/api.js", 9) },
    { id: 6, callFrame: frame("(garbage collector)") },
  ],
  startTime: 0,
  endTime: 10_000,
  samples: [2, 3, 4, 5, 3, 6, 2],
  timeDeltas: [5000, 1000, 500, 1000, 1000, 300, 1200],
};

describe("cpuprofile summary", () => {
  it("sums self time per function from the time deltas, leaving idle out of busy", () => {
    const s = summarize(PROFILE);
    expect(s.durationUs).toBe(10_000);
    expect(s.busyUs).toBe(1000 + 500 + 1000 + 1000 + 300);
    expect(s.functions[0]).toMatchObject({ name: "(idle)", selfUs: 6200 });
    const peek = s.functions.find((f) => f.name === "peek")!;
    expect(peek.selfUs).toBe(3000);
    expect(peek.module).toBe("@mzts/environmentd");
    expect(peek.where).toBe("/r/packages/environmentd/dist/api.js:10");
    expect(s.modules.find((m) => m.module === "@bufbuild/protobuf")!.selfUs).toBe(500);
    // Inclusive, own code only: peek's self time + encode's under it; the recursion counted once.
    expect(s.ownInclusive).toEqual([
      expect.objectContaining({ name: "peek", module: "@mzts/environmentd", selfUs: 3500 }),
    ]);
    const text = formatSummary("t", s, 2);
    expect(text).toMatch(/3\.0 +\d+\.\d % {2}peek {2}\(@mzts\/environmentd\)/);
    expect(text).not.toMatch(/\(idle\)/);
    // top 2: peek and encode, not the garbage collector (third).
    expect(text.split("self time by module")[0]).not.toMatch(/garbage/);
  });

  it("names a profile's process and thread from its file name", () => {
    expect(threadOf("CPU.20261206.100634.2497.0.001.cpuprofile")).toBe("pid 2497, main thread");
    expect(threadOf("CPU.20261206.100638.2523.2.003.cpuprofile")).toBe("pid 2523, worker thread 2");
    expect(threadOf("x.cpuprofile")).toBe("unknown thread");
  });

  it("names modules", () => {
    expect(moduleOf("node:internal/streams/readable", "x")).toBe("node:");
    expect(moduleOf("file:///w/node_modules/@connectrpc/connect-node/dist/esm/x.js", "f")).toBe(
      "@connectrpc/connect-node",
    );
    expect(moduleOf("", "(program)")).toBe("(program)");
    expect(moduleOf("", "writeUtf8String")).toBe("(native)");
  });

  it("summarizes a real V8 profile of this process", async () => {
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    expect(x).toBeGreaterThan(0);
    const s = summarize(profile as CpuProfile);
    expect(s.durationUs).toBeGreaterThan(0);
    expect(s.functions.length).toBeGreaterThan(0);
  });
});
