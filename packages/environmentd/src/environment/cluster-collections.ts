/**
 * The collections Status lists per cluster: each cluster's resolved objects other than sources,
 * ordered by name — derived once per resolved-object value instead of on every Status call
 * (issue 16: at 1,000 indexes each call walked every object of every cluster and sorted the
 * cluster's 1,000 rows by name again, though they change only with a DDL).
 *
 * ## Invariants
 * - `collectionsByCluster(byId).get(c)` equals `[...byId.values()]` filtered to `clusterId === c`
 *   and `kind !== "source"`, sorted by name (names are unique, so the order is total); a cluster
 *   with none is absent (read it as empty).
 * - Derived once per `byId` map: the object cache never changes a map it handed out (a DDL builds
 *   new ones, `object-cache.ts`), so the derived lists stay exact for as long as the map lives;
 *   they are kept in a `WeakMap` and go with it.
 */
import type { GlobalId } from "@mzts/repr";
import type { Resolved } from "./objects.js";

export type CollectionsByCluster = ReadonlyMap<GlobalId, readonly Resolved[]>;

const derived = new WeakMap<ReadonlyMap<GlobalId, Resolved>, CollectionsByCluster>();

/** Each cluster's listed collections, by name (see the file comment). */
export function collectionsByCluster(byId: ReadonlyMap<GlobalId, Resolved>): CollectionsByCluster {
  let out = derived.get(byId);
  if (out === undefined) {
    out = group(byId);
    derived.set(byId, out);
  }
  return out;
}

function group(byId: ReadonlyMap<GlobalId, Resolved>): CollectionsByCluster {
  const out = new Map<GlobalId, Resolved[]>();
  for (const r of byId.values()) {
    if (r.kind === "source") continue;
    const list = out.get(r.clusterId);
    if (list === undefined) out.set(r.clusterId, [r]);
    else list.push(r);
  }
  for (const list of out.values()) list.sort(byName);
  return out;
}

/** Orders named things by name (names in a catalog are unique: a total order). */
export const byName = <T extends { readonly name: string }>(a: T, b: T) =>
  a.name < b.name ? -1 : 1;
