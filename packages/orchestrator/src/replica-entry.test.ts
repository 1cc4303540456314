/**
 * `sameShape`: what decides whether a running replica process can serve a spec (adopt / keep) or
 * must be replaced. Only the phases clusterd reads shape a process.
 */
import { BUILT_PHASES, PhaseSet } from "@mzts/flags";
import { describe, expect, it } from "vitest";
import type { ReplicaSpec } from "./orchestrator.js";
import { sameShape } from "./replica-entry.js";

const spec = (flags: Record<string, boolean>): ReplicaSpec => ({
  clusterId: "u1",
  replicaId: "r1",
  workers: 2,
  phases: PhaseSet.of("u1", flags, BUILT_PHASES),
  generation: 1,
});
const PATH = "/x/clusterd/main.js";

describe("sameShape", () => {
  const running = spec({ servers: true, replicas: true, client: true });

  it("keeps a replica across a controller-side change (replicas, state)", () => {
    const stateOn = spec({ servers: true, replicas: true, client: true, state: true });
    expect(sameShape(stateOn, running, PATH, PATH)).toBe(true);
    const twoPort = spec({ servers: true, replicas: true });
    expect(sameShape(spec({ servers: true }), twoPort, PATH, PATH)).toBe(true);
    // Turning replicas off also ends client (its prerequisite): one port → two, a new process.
    expect(sameShape(spec({ servers: true, client: true }), running, PATH, PATH)).toBe(false);
  });

  it("replaces a replica when a phase clusterd reads changes, or its size or entry", () => {
    expect(sameShape(spec({ servers: true, replicas: true }), running, PATH, PATH)).toBe(false);
    expect(
      sameShape(
        spec({ servers: true, replicas: true, client: true, logging: true }),
        running,
        PATH,
        PATH,
      ),
    ).toBe(false);
    expect(sameShape({ ...running, workers: 1 }, running, PATH, PATH)).toBe(false);
    expect(sameShape(running, running, PATH, "/y/clusterd/main.js")).toBe(false);
  });
});
