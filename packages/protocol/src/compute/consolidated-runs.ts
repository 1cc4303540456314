/**
 * Releasing a subscribe's stashed updates without re-consolidating what the parts already
 * consolidated (issue 16): the process merge (`PartitionedComputeState`) stashes each part's
 * batch as one **run**, and a worker's batch is consolidated (`SubscribeSink`), so at release the
 * runs are merged instead of hashed and sorted again.
 *
 * ## Rules
 * - A run is **strictly consolidated** when its diffs are non-zero and it is strictly increasing
 *   by (time, `compareRows`). Then `consolidateUpdates(run)` equals the run: strictly ordered rows
 *   have distinct `rowKey`s (equal keys mean equal datums), so nothing sums, nothing drops, and
 *   the sort keeps the order.
 * - `releaseRuns(runs, upper)` gives the updates at times `< upper` (`out`) exactly as
 *   `consolidateUpdates` of them would — same elements, same order — and the runs of the rest
 *   (`keep`). With strictly consolidated runs: one run below `upper` is passed on as is (no copy:
 *   the W=1 case), several are merged pairwise (workers partition rows, so runs rarely share one).
 *   Otherwise — a run out of order, a zero diff, or two runs holding (time, row) pairs that
 *   compare equal (they may differ in representation, e.g. int64 5 and float 5, which
 *   `consolidateUpdates` keeps apart by key) — it falls back to `consolidateUpdates`.
 * - Runs are never modified; `out` may be a run itself (updates are readonly).
 */
import { compareRows, consolidateUpdates, Frontier, type Update } from "@mzts/repr";

/** (time, row) order of two updates. */
function compareUpdates(a: Update, b: Update): number {
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : compareRows(a[0], b[0]);
}

/** True when `run` is strictly increasing by (time, row) with non-zero diffs. */
export function isStrictlyConsolidated(run: readonly Update[]): boolean {
  const n = run.length;
  if (n === 0) return true;
  let prev = run[0] as Update;
  if (prev[2] === 0) return false;
  for (let i = 1; i < n; i++) {
    const u = run[i] as Update;
    if (u[2] === 0 || compareUpdates(prev, u) >= 0) return false;
    prev = u;
  }
  return true;
}

/** Index of the first update of a time-sorted `run` at a time not before `upper`. */
function splitAt(run: readonly Update[], upper: Frontier): number {
  let i = run.length;
  while (i > 0 && Frontier.includes(upper, (run[i - 1] as Update)[1])) i--;
  return i;
}

/**
 * Two strictly consolidated runs merged into one, or `undefined` when they share a (time, row)
 * pair by `compareRows` (see the rules: the caller falls back).
 */
function mergeTwo(a: readonly Update[], b: readonly Update[]): Update[] | undefined {
  const out: Update[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Update;
    const y = b[j] as Update;
    const c = compareUpdates(x, y);
    if (c < 0) {
      out.push(x);
      i++;
    } else if (c > 0) {
      out.push(y);
      j++;
    } else {
      // Consolidation sums them only when their keys are equal too: the full path decides.
      return undefined;
    }
  }
  while (i < a.length) out.push(a[i++] as Update);
  while (j < b.length) out.push(b[j++] as Update);
  return out;
}

/**
 * The updates of `runs` at times `< upper`, consolidated (what `consolidateUpdates` gives for
 * them), and the runs of the rest.
 */
export function releaseRuns(
  runs: readonly (readonly Update[])[],
  upper: Frontier,
): { readonly out: readonly Update[]; readonly keep: (readonly Update[])[] } {
  const heads: (readonly Update[])[] = [];
  const keep: (readonly Update[])[] = [];
  let fast = true;
  for (const run of runs) {
    if (run.length === 0) continue;
    if (!isStrictlyConsolidated(run)) {
      fast = false;
      break;
    }
    const at = splitAt(run, upper);
    if (at === run.length) heads.push(run);
    else {
      if (at > 0) heads.push(run.slice(0, at));
      keep.push(run.slice(at));
    }
  }
  if (fast) {
    if (heads.length === 0) return { out: [], keep };
    let out: readonly Update[] | undefined = heads[0] as readonly Update[];
    for (let k = 1; k < heads.length && out !== undefined; k++) {
      out = mergeTwo(out, heads[k] as readonly Update[]);
    }
    if (out !== undefined) return { out, keep };
  }
  const below: Update[] = [];
  const rest: Update[] = [];
  for (const run of runs)
    for (const u of run) (Frontier.includes(upper, u[1]) ? rest : below).push(u);
  return { out: consolidateUpdates(below), keep: rest.length === 0 ? [] : [rest] };
}
