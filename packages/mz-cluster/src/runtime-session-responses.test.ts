/**
 * The response half of `createRuntimeSessions` (the path of the phase-1 bench's unanswered peek,
 * issue 16): a controller that sends one peek and waits for its answer before the next must get
 * every answer, whatever event-loop phase each worker's part arrives in relative to the command's
 * submit (synchronously inside it, a microtask, a nextTick, an immediate, a timer) — so whether
 * the next command is the first of its turn (submitted at once) or gathered for the turn's end —
 * and the merge waits for both parts. No wake-up may depend on a later message. After `close`,
 * nothing more reaches the sink and the merger is closed.
 */
import { describe, expect, it } from "vitest";
import type { ControllerConnection } from "./controller-connections.js";
import type { ClusterRuntime } from "./runtime.js";
import { createRuntimeSessions, type ResponseMerger } from "./runtime-session.js";
import { PHASES, type Phase } from "./testing/event-loop-phases.js";

/** Two workers that answer each command `c` with `c` from both parts, in chosen phases. */
function twoWorkerRuntime(phaseOf: (cmd: string, part: number) => Phase) {
  let deliver: ((worker: number, r: string) => void) | undefined;
  const submitted: string[] = [];
  const rt = {
    workers: 2,
    connect() {},
    submit(cmds: readonly string[]) {
      for (const c of cmds) {
        submitted.push(c);
        for (const part of [1, 0]) phaseOf(c, part)(() => deliver?.(part, c));
      }
    },
    onResponse(cb: (worker: number, r: string) => void) {
      deliver = cb;
    },
  } as unknown as ClusterRuntime<string, string>;
  return { rt, submitted };
}

/** Emits a command's answer once both parts sent theirs. */
function bothParts(): ResponseMerger<string, string> & { closed: boolean } {
  const parts = new Map<string, number>();
  return {
    closed: false,
    observeCommand() {},
    absorb(part, r) {
      const seen = (parts.get(r) ?? 0) | (1 << part);
      if (seen !== 3) {
        parts.set(r, seen);
        return [];
      }
      parts.delete(r);
      return [r];
    },
    close() {
      this.closed = true;
    },
  };
}

const conn = (nonce: string) => ({ nonce, end: () => {} }) as unknown as ControllerConnection;

describe("runtime sessions: answers of sequential commands", () => {
  it("every answer reaches the sink, whatever phase each part arrives in", async () => {
    const N = 250;
    const { rt, submitted } = twoWorkerRuntime((cmd, part) => {
      const i = Number(cmd.slice(1));
      if (Number.isNaN(i)) return PHASES[4]!; // "late": after the close
      return PHASES[(part === 0 ? i : Math.floor(i / PHASES.length)) % PHASES.length]!;
    });
    const mergers: Array<ReturnType<typeof bothParts>> = [];
    const s = createRuntimeSessions(rt, () => {
      const m = bothParts();
      mergers.push(m);
      return m;
    })(conn("n1"));
    const got: string[] = [];
    const batches: number[] = [];
    let wake: (() => void) | undefined;
    s.onResponses((rs) => {
      batches.push(rs.length);
      got.push(...rs);
      wake?.();
    });
    for (let i = 0; i < N; i++) {
      const cmd = `p${i}`;
      s.commands([cmd]);
      // The next command goes in the turn the answer arrives in (as the bench's driver does).
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`${cmd} unanswered (submitted: ${submitted.includes(cmd)})`)),
          2000,
        );
        wake = () => {
          if (got.includes(cmd)) {
            clearTimeout(t);
            resolve();
          }
        };
        wake();
      });
    }
    expect(got).toEqual(Array.from({ length: N }, (_, i) => `p${i}`));
    expect(batches.every((n) => n === 1)).toBe(true);

    // After close: the merger is closed, and a late part's answer reaches no sink.
    s.commands(["late"]);
    s.close(undefined);
    expect(mergers[0]!.closed).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(got).not.toContain("late");
  });
});
