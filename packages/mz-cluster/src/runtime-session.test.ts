import { describe, expect, it } from "vitest";
import type { ControllerConnection } from "./controller-connections.js";
import { ClusterError } from "./errors.js";
import type { ClusterRuntime } from "./runtime.js";
import { createRuntimeSessions, GATHER_BELOW, type ResponseMerger } from "./runtime-session.js";

type Call = { connect: string } | { submit: string[] };

/** A runtime that records what the sessions hand it; `failOn` makes that submit throw. */
function fakeRuntime(failOn?: string): { rt: ClusterRuntime<string, string>; calls: Call[] } {
  const calls: Call[] = [];
  const rt = {
    workers: 1,
    connect(nonce: string) {
      calls.push({ connect: nonce });
    },
    submit(cmds: readonly string[]) {
      if (failOn !== undefined && cmds.includes(failOn)) throw new Error(`cannot take ${failOn}`);
      calls.push({ submit: [...cmds] });
    },
    onResponse() {},
  } as unknown as ClusterRuntime<string, string>;
  return { rt, calls };
}

const merger = (): ResponseMerger<string, string> => ({
  observeCommand() {},
  absorb: (_part, r) => [r],
});

/** A connection with only what a session uses: its nonce, and `end`, recorded. */
function conn(nonce: string, ended: ClusterError[] = []): ControllerConnection {
  return { nonce, end: (e: ClusterError) => ended.push(e) } as unknown as ControllerConnection;
}

const endOfTurn = () => new Promise<void>((r) => setImmediate(r));

describe("runtime sessions: commands per event-loop turn", () => {
  it("submits a turn's first message at once and the messages after it together at the turn's end, in order", async () => {
    const { rt, calls } = fakeRuntime();
    const s = createRuntimeSessions(rt, merger)(conn("n1"));
    s.commands(["a"]);
    // A lone message waits for nothing.
    expect(calls).toEqual([{ connect: "n1" }, { submit: ["a"] }]);
    s.commands(["b"]);
    s.commands(["c", "d"]);
    expect(calls).toHaveLength(2);
    await endOfTurn();
    expect(calls).toEqual([{ connect: "n1" }, { submit: ["a"] }, { submit: ["b", "c", "d"] }]);
    // The next turn's first message goes at once again.
    s.commands(["e"]);
    expect(calls.at(-1)).toEqual({ submit: ["e"] });
  });

  it("submits a large message at once, after what waits", async () => {
    const { rt, calls } = fakeRuntime();
    const s = createRuntimeSessions(rt, merger)(conn("n1"));
    const big = Array.from({ length: GATHER_BELOW }, (_, i) => `x${i}`);
    s.commands(["a"]);
    s.commands(["b"]);
    s.commands(big);
    // After a large message the next small one goes at once, the ones after it at the turn's end.
    s.commands(["c"]);
    s.commands(["d"]);
    expect(calls).toEqual([
      { connect: "n1" },
      { submit: ["a"] },
      { submit: ["b"] },
      { submit: big },
      { submit: ["c"] },
    ]);
    await endOfTurn();
    expect(calls.at(-1)).toEqual({ submit: ["d"] });
  });

  it("hands on what is waiting before a new connection's connect, and on close", async () => {
    const { rt, calls } = fakeRuntime();
    const open = createRuntimeSessions(rt, merger);
    const s1 = open(conn("n1"));
    s1.commands(["a"]);
    s1.commands(["b"]);
    open(conn("n2")).commands(["c"]);
    expect(calls).toEqual([
      { connect: "n1" },
      { submit: ["a"] },
      { submit: ["b"] },
      { connect: "n2" },
      { submit: ["c"] },
    ]);
    const s3 = open(conn("n3"));
    s3.commands(["d"]);
    s3.commands(["e"]);
    s3.close(undefined);
    expect(calls.slice(-3)).toEqual([{ connect: "n3" }, { submit: ["d"] }, { submit: ["e"] }]);
    await endOfTurn();
    expect(calls).toHaveLength(8);
  });

  it("ends the connection when a deferred submit throws, and keeps serving the next turn", async () => {
    const { rt, calls } = fakeRuntime("bad");
    const ended: ClusterError[] = [];
    const s = createRuntimeSessions(rt, merger)(conn("n1", ended));
    s.commands(["a"]);
    s.commands(["bad"]);
    await endOfTurn();
    expect(ended).toHaveLength(1);
    expect(ended[0]).toBeInstanceOf(ClusterError);
    expect(ended[0]!.message).toContain("cannot take bad");
    // A throw at once reaches the caller (the stream handler ends the stream).
    expect(() => s.commands(["bad"])).toThrow("cannot take bad");
    await endOfTurn();
    s.commands(["b"]);
    expect(calls.at(-1)).toEqual({ submit: ["b"] });
  });
});
