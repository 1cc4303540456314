/**
 * fast-check arbitraries: dataflow descriptions and peeks. Part of the `./arbitraries` subpath
 * (`arbitraries.ts`); values are valid, as the decoders check them.
 */
import type { Plan } from "@mzts/expr";
import type { GlobalId } from "@mzts/repr";
import fc from "fast-check";
import type { DataflowDescription, Peek } from "../compute/command.js";
import { columns, expr, growingExprs, orderKey, plan } from "./arbitrary-plans.js";
import {
  frontier,
  globalId,
  replicaId,
  row,
  shardId,
  text,
  timestamp,
  uuid,
} from "./arbitrary-values.js";

// ---------------------------------------------------------------------------------------------
// Dataflows and peeks

/** A valid dataflow description (ids unique, plans valid against the imports). */
export const dataflow: fc.Arbitrary<DataflowDescription> = fc
  .record({
    base: fc.nat(1_000_000),
    debugName: text,
    sources: fc.array(fc.tuple(shardId, fc.integer({ min: 0, max: 4 }), frontier), {
      maxLength: 2,
    }),
    indexes: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
    objectCount: fc.integer({ min: 1, max: 2 }),
    asOf: frontier,
    until: frontier,
  })
  .chain((r) => {
    let next = r.base;
    const id = () => `u${next++}`;
    const sourceImports = r.sources.map(([shard, arity, upper]) => ({
      id: id(),
      shardId: shard,
      arity,
      upper,
    }));
    const indexArities = r.indexes;
    const indexIds = indexArities.map(() => id());
    const objectIds = Array.from({ length: r.objectCount }, () => id());
    const exportBase = next;
    const importEnv: Array<readonly [GlobalId, number]> = [
      ...sourceImports.map((s) => [s.id, s.arity] as const),
      ...indexIds.map((x, i) => [x, indexArities[i]!] as const),
    ];
    const indexImports = fc.tuple(
      ...indexArities.map((arity, i) =>
        columns(arity).map((key) => ({ id: indexIds[i]!, key, arity })),
      ),
    );
    // Objects in dependency order: object i may get imports and objects before it.
    const objects = objectIds.reduce<fc.Arbitrary<Array<readonly [GlobalId, Plan, number]>>>(
      (acc, oid) =>
        acc.chain((built) =>
          plan([...importEnv, ...built.map(([b, , a]) => [b, a] as const)], 2).map(([p, a]) => [
            ...built,
            [oid, p, a] as const,
          ]),
        ),
      fc.constant([]),
    );
    return fc.tuple(indexImports, objects).chain(([idxImports, built]) => {
      const exportsArb = fc.tuple(
        fc.array(
          fc
            .constantFrom(...built)
            .chain(([oid, , a]) => columns(a).map((key) => ({ objectId: oid, key }))),
          { maxLength: 2 },
        ),
        fc.array(
          fc.tuple(
            fc.constantFrom(...built.map(([b]) => b), ...importEnv.map(([i]) => i)),
            fc.oneof(
              fc.constant({ kind: "subscribe" as const }),
              shardId.map((s) => ({ kind: "persist" as const, shardId: s })),
            ),
          ),
          { maxLength: 2 },
        ),
      );
      return exportsArb.map(([ix, sx]): DataflowDescription => {
        let e = exportBase;
        return {
          debugName: r.debugName,
          sourceImports,
          indexImports: idxImports,
          objectsToBuild: built.map(([oid, p]) => ({ id: oid, plan: p })),
          indexExports: ix.map((x) => ({ id: `t${e++}`, ...x })),
          sinkExports: sx.map(([fromId, connection]) => ({ id: `t${e++}`, fromId, connection })),
          asOf: r.asOf,
          until: r.until,
        };
      });
    });
  });

/** A valid peek (MFP and finishing columns in range). */
export const peek: fc.Arbitrary<Peek> = fc
  .record({
    uuid,
    target: fc.oneof(
      globalId.map((id) => ({ kind: "index" as const, id })),
      fc.tuple(globalId, shardId).map(([id, s]) => ({ kind: "persist" as const, id, shardId: s })),
    ),
    arity: fc.integer({ min: 0, max: 4 }),
    timestamp,
    literalConstraints: fc.option(
      fc.integer({ min: 1, max: 2 }).chain((w) => fc.array(row(w), { maxLength: 3 })),
      { nil: undefined },
    ),
    targetReplica: fc.option(replicaId, { nil: undefined }),
  })
  .chain((r) =>
    growingExprs(r.arity, 2).chain((exprs) => {
      const width = r.arity + exprs.length;
      return fc
        .tuple(fc.array(expr(width), { maxLength: 2 }), columns(width, 4))
        .chain(([predicates, projection]) =>
          fc
            .record({
              orderBy: orderKey(projection.length),
              limit: fc.option(fc.oneof(fc.nat(100), fc.constant(Number.MAX_SAFE_INTEGER)), {
                nil: undefined,
              }),
              offset: fc.nat(100),
              project: columns(projection.length, 4),
            })
            .map((f): Peek => {
              const { literalConstraints, targetReplica, ...base } = r;
              const { limit, ...finishing } = f;
              return {
                ...base,
                ...(literalConstraints === undefined ? {} : { literalConstraints }),
                ...(targetReplica === undefined ? {} : { targetReplica }),
                mapFilterProject: { exprs, predicates, projection },
                finishing: limit === undefined ? finishing : { ...finishing, limit },
              };
            }),
        );
    }),
  );

/** Datums of a direct-shape peek's literal constraints, with the varint edges. */
const directDatum = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.constantFrom(0n, -1n, 127n, 128n, -(2n ** 63n), 2n ** 63n - 1n),
  fc.string({ maxLength: 20 }),
);
/**
 * Peeks of the shape the replica's framed decode reads directly (`codec/peek-reader.ts`): an
 * index target with an ASCII id (`u<n>`), no map/filter expressions, no ordering.
 */
export const directPeek: fc.Arbitrary<Peek> = fc
  .record({
    uuid,
    id: fc.nat(10_000).map((n) => `u${n}`),
    arity: fc.integer({ min: 1, max: 4 }),
    timestamp: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constant(0n)),
    width: fc.integer({ min: 1, max: 3 }),
    constrained: fc.boolean(),
    limit: fc.option(fc.nat(1000), { nil: undefined }),
    offset: fc.nat(1000),
  })
  .chain((r) =>
    fc
      .tuple(
        fc.array(fc.array(directDatum, { minLength: r.width, maxLength: r.width }), {
          maxLength: 4,
        }),
        fc.array(fc.nat(r.arity - 1), { maxLength: 4 }),
      )
      .chain(([rows, projection]) =>
        fc
          .array(fc.nat(Math.max(0, projection.length - 1)), {
            maxLength: projection.length === 0 ? 0 : 3,
          })
          .map(
            (project): Peek => ({
              uuid: r.uuid,
              target: { kind: "index", id: r.id },
              arity: r.arity,
              timestamp: r.timestamp,
              ...(r.constrained ? { literalConstraints: rows } : {}),
              mapFilterProject: { exprs: [], predicates: [], projection },
              finishing: {
                orderBy: [],
                offset: r.offset,
                project,
                ...(r.limit === undefined ? {} : { limit: r.limit }),
              },
            }),
          ),
      ),
  );
