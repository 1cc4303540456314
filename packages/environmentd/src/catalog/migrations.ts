/**
 * Catalog schema migrations, shared by both stores (`sqlite.ts`, `postgres.ts`): each store keeps
 * a schema version (SQLite `PRAGMA user_version`, PostgreSQL `catalog_state.schema_version`) and,
 * when it opens an older one, rewrites the rows that changed in the same transaction that records
 * the new version (under the store's write lock, so two processes opening at once migrate once).
 *
 * | version | change |
 * |---|---|
 * | 1 | the tables (`catalog-state.ts` row format) |
 * | 2 | every replica row gains `slot` (`ReplicaSlot`, migration stages): a cluster's existing replicas alternate by id (creation) order, the first taking `legacy` — the authoritative path of `shadow`, the first stage that compares, so moving a cluster into `shadow` keeps its oldest replica on the path that answers |
 *
 * ## Invariants
 * - A migration is a pure function of the stored rows (`migrateRows`): the stores only read the
 *   rows and write back what it returns; a row it does not change is not written.
 * - Idempotent: a row that already has what a step adds is left alone.
 */
import { ReplicaId } from "@mzts/repr";
import type { ReplicaSlot } from "./catalog.js";
import type { StoredObjectRow } from "./catalog-state.js";

/** The schema version the stores write. */
export const CATALOG_SCHEMA_VERSION = 2;

/**
 * The rows to rewrite to bring a catalog at schema version `from` to `CATALOG_SCHEMA_VERSION`
 * (same ids; the stores update their bodies). A row whose body is not JSON is left for decoding
 * to report (`CorruptCatalog`).
 */
export function migrateRows(
  from: number,
  rows: readonly StoredObjectRow[],
): readonly StoredObjectRow[] {
  if (from >= 2) return [];
  const replicas = rows
    .filter((r) => r.kind === "replica")
    .sort((a, b) => ReplicaId.compare(a.id, b.id));
  const seen = new Map<string, number>();
  const out: StoredObjectRow[] = [];
  for (const row of replicas) {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(row.body) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (body === null || typeof body !== "object") continue;
    const n = seen.get(row.scope) ?? 0;
    seen.set(row.scope, n + 1);
    if (body.slot !== undefined) continue;
    const slot: ReplicaSlot = n % 2 === 0 ? "legacy" : "unified";
    out.push({ ...row, body: JSON.stringify({ ...body, slot }) });
  }
  return out;
}
