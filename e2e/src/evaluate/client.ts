/**
 * The client phase's evaluation check (`PHASE_CHECKS.client`, design §9 phase 4): the candidate's
 * replica is reached over ONE TCP connection — one `ClusterService` stream carrying both
 * controllers — and the baseline's (two-port) over one per workload. Counted two independent
 * ways (`harness/controller-connections.ts`): ESTABLISHED sockets to the replica's controller
 * ports, and the replica's own `mz_cluster_controller_transport_connections` gauge. Connections
 * close asynchronously after a reconnect, so the count is polled (up to 5 s) before it differs.
 */
import { controllerConnections } from "../harness/controller-connections.js";
import { sleep } from "../harness/environment.js";
import type { Difference } from "./compare.js";
import { type EvaluationContext, SIDES, type Side } from "./context.js";
import type { PhaseCheck } from "./phases.js";

/** How long a count may take to settle (a replaced connection closing). */
const SETTLE_MS = 5000;

/** What the side's replica should show, or a line saying how it differs. */
async function sideDifference(ctx: EvaluationContext, side: Side): Promise<string | undefined> {
  const onePort = ctx.sides[side].phases.includes("client");
  const ok = (n: number) => (onePort ? n === 1 : n >= 2);
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const c = await controllerConnections(ctx.replica(side));
    if (ok(c.sockets) && ok(c.metric)) return undefined;
    if (Date.now() >= deadline) {
      const want = onePort ? "exactly 1 (one-port)" : "at least 2 (two-port)";
      return `${side}: ${c.sockets} sockets, gauge ${c.metric}; want ${want}`;
    }
    await sleep(200);
  }
}

export const clientConnectionsCheck: PhaseCheck = {
  name: "controller connections",
  describe:
    "the candidate's replica has exactly one TCP connection from the controllers (sockets and its transport gauge), the baseline's one per workload",
  async run(ctx, tally) {
    tally?.(SIDES.length * 2);
    const lines: string[] = [];
    for (const side of SIDES) {
      const d = await sideDifference(ctx, side);
      if (d !== undefined) lines.push(d);
    }
    const out: Difference[] = [];
    if (lines.length > 0)
      out.push({ check: "client", subject: "controller connections", diff: lines });
    return out;
  },
};
