/**
 * `@mzts/clusterd/testing`'s `startTestClusterd` itself: a started replica serves its layout's
 * ports and `stop()` leaves neither the process nor its dir behind; a replica that exits before
 * its ready line (here: the one-port phases given the two-port flags, a `ConfigError`) rejects
 * with clusterd's stderr and leaves nothing behind either.
 */
import { existsSync } from "node:fs";
import {
  startTestClusterd,
  type TestClusterd,
  TestClusterdStartFailed,
} from "@mzts/clusterd/testing";
import { BUILT_PHASES, PhaseSet } from "@mzts/flags";
import { afterEach, describe, expect, it } from "vitest";

const started: TestClusterd[] = [];
afterEach(async () => {
  for (const c of started.splice(0)) await c.stop();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("startTestClusterd", () => {
  it("starts a two-port replica; stop() ends it and removes its dir", async () => {
    const c = await startTestClusterd({ phases: PhaseSet.of("u1", { servers: true }) });
    started.push(c);
    expect(c.url("compute")).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(c.url("storage")).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(() => c.url("cluster")).toThrow(/no cluster port/);
    expect((await fetch(`${c.url("http")}/health`)).ok).toBe(true);
    expect(existsSync(c.dir)).toBe(true);
    await c.stop();
    expect(alive(c.pid)).toBe(false);
    expect(existsSync(c.dir)).toBe(false);
  });

  it("rejects when clusterd exits before ready, and cleans up", async () => {
    const onePort = PhaseSet.of("u1", { servers: true, replicas: true, client: true }, [
      ...BUILT_PHASES,
      "client",
    ]);
    const e = await startTestClusterd({ phases: onePort, layout: "two-port" }).catch((x) => x);
    expect(e).toBeInstanceOf(TestClusterdStartFailed);
    expect(e).toMatchObject({ exitCode: 2 });
    expect((e as TestClusterdStartFailed).stderr).toMatch(/compute-listen/);
    expect(existsSync((e as TestClusterdStartFailed).dir)).toBe(false);
  });
});
