/**
 * Peek finishing (ORDER BY / OFFSET / LIMIT / projection) over `(row, count)` pairs.
 *
 * Workers each hold a partition of the index, so finishing has two halves:
 * - `preLimit` (per worker): sort and keep the first `offset + limit` rows (by multiplicity);
 *   the global top `offset + limit` is contained in the union of the workers' tops.
 * - `applyFinishing` (per process, after merging): sort, skip `offset`, take `limit` (both
 *   counting multiplicities; a row's count may be cut), then project. An empty `project` keeps
 *   every column: protobuf cannot tell an unset repeated field from an empty one, and the proto
 *   says an unset projection means all columns.
 * Order: `orderBy`, ties broken by the whole row (`orderComparator`), so answers are
 * deterministic — and identical on the legacy and unified paths.
 */
import { orderComparator } from "@mzts/dataflow";
import type { RowSetFinishing } from "@mzts/protocol";
import type { Datum, Row } from "@mzts/repr";

type Counted = readonly [Row, number];

function sorted(rows: readonly Counted[], f: RowSetFinishing): Counted[] {
  const cmp = orderComparator(f.orderBy);
  return rows.slice().sort((a, b) => cmp(a[0], b[0]));
}

/** Keeps rows `[skip, skip + take)` counting multiplicities (take undefined = all). */
function window(rows: readonly Counted[], skip: number, take: number | undefined): Counted[] {
  const out: Counted[] = [];
  let left = take ?? Number.POSITIVE_INFINITY;
  for (const [row, n] of rows) {
    if (left <= 0) break;
    let c = n;
    if (skip > 0) {
      const s = Math.min(skip, c);
      skip -= s;
      c -= s;
    }
    if (c <= 0) continue;
    const k = Math.min(c, left);
    out.push([row, k]);
    left -= k;
  }
  return out;
}

/** Per-worker pre-limit: sorted, at most `offset + limit` rows by multiplicity. */
export function preLimit(rows: readonly Counted[], f: RowSetFinishing): Counted[] {
  // One row or none is sorted; without a limit nothing is cut (a copy, as `sorted` gives).
  if (rows.length <= 1 && f.limit === undefined) return rows.slice();
  const s = sorted(rows, f);
  return f.limit === undefined ? s : window(s, 0, f.offset + f.limit);
}

/** The full finishing, applied once to the merged rows. */
export function applyFinishing(rows: readonly Counted[], f: RowSetFinishing): Counted[] {
  const w = window(sorted(rows, f), f.offset, f.limit);
  const proj = f.project;
  if (proj.length === 0) return w;
  return w.map(([row, n]) => [proj.map((c) => row[c] ?? (null as Datum)), n] as const);
}
