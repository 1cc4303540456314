/**
 * The check that makes every other comparison mean something: each side runs exactly the phases
 * it should. Every replica of the side's cluster was started with them (the orchestrator's
 * replica records), and status reports each flag in force and applied as the side needs it. A
 * candidate that silently ran the legacy path would otherwise compare the baseline to itself.
 */
import { FLAG_KEYS, PHASES } from "@mzts/flags";
import type { Difference } from "./compare.js";
import { type EvaluationContext, SIDES } from "./context.js";

/** Each replica of a side runs exactly the side's phases (records), and status agrees. */
export async function phasesApplied(ctx: EvaluationContext): Promise<Difference[]> {
  const out: Difference[] = [];
  const status = await ctx.session.api.status();
  for (const side of SIDES) {
    const want = ctx.sides[side].phases;
    const records = ctx.session.records().filter((r) => r.clusterId === ctx.sides[side].clusterId);
    const c = status.clusters.find((x) => x.id === ctx.sides[side].clusterId);
    for (const p of PHASES) {
      const expected = want.includes(p);
      for (const r of records) {
        const inForce = r.phases?.inForce[p];
        if (inForce !== expected) {
          out.push({
            check: "flags",
            subject: `${ctx.sides[side].cluster} replica ${r.replicaId}: ${p}`,
            diff: [
              `runs ${p} ${inForce ? "on" : "off"}, the ${side} needs it ${expected ? "on" : "off"}`,
            ],
          });
        }
      }
      const flag = c?.flags.find((f) => f.key === FLAG_KEYS[p]);
      if (flag === undefined || flag.inForce !== expected || flag.applied !== expected) {
        out.push({
          check: "flags",
          subject: `${ctx.sides[side].cluster}: ${FLAG_KEYS[p]}`,
          diff: [
            `status: ${JSON.stringify(flag ?? "absent")}; the ${side} needs it ${expected ? "on" : "off"}`,
          ],
        });
      }
    }
  }
  return out;
}
