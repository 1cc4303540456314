/**
 * `mzctl introspection`: the introspection relations (phase 2, *logging*) of environmentd's
 * clusters — `mz_introspection.<relation>`, each replica's own log of its dataflows, operators,
 * frontiers, arrangements, peeks, hydration, errors and ingestion.
 *
 * - `mzctl introspection [--cluster c]`: the relations (from ListObjects): name, columns, key and
 *   what each holds.
 * - `mzctl introspection <relation> [--cluster c] [--replica r] [--at t] [--timeout-ms ms]`: a
 *   peek of `mz_introspection.<relation>` (the `mz_introspection.` prefix is optional), printed
 *   as a table with the relation's column names, then which replica answered at which time.
 *   Without `--replica` environmentd picks an online replica; without `--cluster` the only
 *   cluster. With `--json`, the ListObjects / Peek response's protobuf JSON.
 * - The persisted `replica_<relation>` ones (every replica's rows, `replica_id` first) are
 *   answered by environmentd from persist, also while replicas are down; `--replica` keeps that
 *   replica's rows only.
 */
import { environmentCodecs, INTROSPECTION_SCHEMA, logRelation } from "@mzts/protocol";
import { environmentV1 as S } from "@mzts/protocol/wire";
import type { Command } from "commander";
import { persistedRelation } from "../introspection/persisted-relations.js";
import type { CliContext } from "./context.js";
import { peekTable, table, withProgress } from "./render.js";

interface PeekOptions {
  cluster?: string;
  replica?: string;
  at?: bigint;
  timeoutMs?: number;
}

/** Adds `introspection [relation]` to `program`. */
export function addIntrospectionCommand(program: Command, ctx: CliContext): void {
  program
    .command("introspection [relation]")
    .description(
      "list the introspection relations (mz_introspection.<relation>), or read one from a replica",
    )
    .option("--cluster <cluster>", "the cluster (default: the only one)")
    .option("--replica <name>", "the replica whose log to read (default: an online one)")
    .option(
      "--at <timestamp-ms>",
      "read at exactly this time (default: now)",
      ctx.u64("a timestamp"),
    )
    .option("--timeout-ms <ms>", "give up after this long", ctx.uint("a timeout", 1))
    .action(async (relation: string | undefined, o: PeekOptions) => {
      if (relation === undefined) await list(ctx, o.cluster);
      else await peek(ctx, relation, o);
    });
}

async function list(ctx: CliContext, cluster: string | undefined): Promise<void> {
  const res = await ctx
    .client()
    .listObjects(cluster === undefined ? {} : { cluster }, ctx.callOptions());
  const all = environmentCodecs.listObjectsResponse.fromProto(res).objects;
  const relations = all.filter((o) => o.kind === "introspection");
  const filtered = {
    ...res,
    objects: res.objects.filter((o) => relations.some((r) => r.id === o.id)),
  };
  ctx.print(S.ListObjectsResponseSchema, filtered, () => {
    if (relations.length === 0) return "no clusters (create one with `mzctl clusters create`)\n";
    const seen = new Set<string>();
    const rows: string[][] = [];
    for (const r of relations) {
      if (seen.has(r.name)) continue;
      seen.add(r.name);
      const columns = r.columns ?? [];
      rows.push([
        r.name,
        columns.map((c) => `${c.name} ${c.type}${c.nullable ? "?" : ""}`).join(", "),
        r.key.map((k) => columns[k]?.name ?? String(k)).join(","),
        r.description ?? "",
      ]);
    }
    const clusters = [...new Set(relations.map((r) => r.cluster))].join(", ");
    const persisted = relations.some((r) => persistedRelation(r.name) !== undefined)
      ? "; the replica_ ones hold every replica's rows, kept by environmentd"
      : "";
    return `${table(["RELATION", "COLUMNS", "KEY", "DESCRIPTION"], rows)}(per replica of cluster${
      clusters.includes(",") ? "s" : ""
    } ${clusters}; read one with \`mzctl introspection <relation> --replica <name>\`${persisted})\n`;
  });
}

async function peek(ctx: CliContext, relation: string, o: PeekOptions): Promise<void> {
  const object = relation.startsWith(`${INTROSPECTION_SCHEMA}.`)
    ? relation
    : `${INTROSPECTION_SCHEMA}.${relation}`;
  const res = await withProgress(
    ctx.io,
    `introspection ${object}${o.replica === undefined ? "" : ` on ${o.replica}`}`,
    ctx.client().peek(
      {
        object,
        ...(o.cluster === undefined ? {} : { cluster: o.cluster }),
        ...(o.replica === undefined ? {} : { replica: o.replica }),
        ...(o.at === undefined ? {} : { timestamp: o.at }),
        ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      },
      ctx.callOptions(),
    ),
  );
  const answer = environmentCodecs.peekResponse.fromProto(res);
  const columns = (logRelation(object) ?? persistedRelation(object))?.columns.map((c) => c.name);
  ctx.print(S.PeekResponseSchema, res, () => peekTable(answer, columns));
}
