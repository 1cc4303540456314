/**
 * fast-check arbitraries for every domain value of the protocols: datums (all kinds, with edge
 * values), rows, frontiers, ids, valid plans (recursive, with correct arities), dataflows, peeks,
 * and every compute, storage and cluster command and response kind.
 *
 * Test-only (excluded from the build). Arbitraries produce *valid* values — the round-trip
 * properties assert that `fromProto(toProto(x))` equals `x` — so every generator respects the
 * invariants the decoders check (unique ids, columns in range, positive counts, …).
 *
 * Why one file over ~700 lines (style: files < ~700): it is test data, not logic — the one entry
 * of the `./arbitraries` subpath, a chain of generators each built from the previous sections
 * (datums → plans → dataflows/peeks → commands and responses); its sections mirror the codecs.
 */
import type { AggregateFunc, Expr, OrderKey, Plan } from "@mzts/expr";
import {
  Datum,
  type Frontier,
  type GlobalId,
  NUMERIC_MAX_SCALE,
  type Row,
  type Timestamp,
  type Update,
} from "@mzts/repr";
import fc from "fast-check";
import type { ClusterCommand, ClusterResponse } from "../cluster/cluster-command.js";
import type { CommandError } from "../cluster/command-error.js";
import { ERROR_CODES } from "../cluster/command-error.js";
import type { Hello } from "../cluster/hello.js";
import { EXPR_OPERATORS } from "../codec/plan-codec.js";
import {
  COMPUTE_COMMAND_KINDS,
  type ComputeCommand,
  type ComputeCommandKind,
  type DataflowDescription,
  type Peek,
} from "../compute/command.js";
import type { ComputeResponse, ComputeResponseKind } from "../compute/response.js";
import { OBJECT_STATUSES } from "../storage/codec.js";
import {
  STORAGE_COMMAND_KINDS,
  type StorageCommand,
  type StorageCommandKind,
} from "../storage/command.js";
import type { StorageResponse, StorageResponseKind } from "../storage/response.js";

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

// ---------------------------------------------------------------------------------------------
// Scalars and ids

export const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, U64_MAX, U64_MAX - 1n, 1n << 63n),
  fc.bigInt({ min: 0n, max: U64_MAX }),
);
export const timestamp: fc.Arbitrary<Timestamp> = u64;
export const frontier: fc.Arbitrary<Frontier> = fc.option(timestamp, { nil: null, freq: 4 });
export const globalId: fc.Arbitrary<GlobalId> = fc
  .tuple(
    fc.constantFrom("u", "s", "t"),
    fc.oneof(fc.nat(), fc.constant(9_999_999_999_999_999_999n)),
  )
  .map(([p, n]) => `${p}${n}`);
export const replicaId = fc.tuple(fc.constantFrom("u", "s"), fc.nat()).map(([p, n]) => `${p}${n}`);
export const uuid = fc.uuid().map((u) => u.toLowerCase());
/** Shard ids persist accepts (`SHARD_ID`); the codecs refuse any other. */
export const shardId = fc.oneof(
  uuid.map((u) => `s${u}`),
  fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,40}$/),
);
/** Well-formed Unicode (no lone surrogates, which UTF-8 cannot carry), including "". */
export const text = fc.oneof(
  fc.constantFrom("", "é", "日本語", "👩‍👩‍👧", "\u0000", "a\nb"),
  fc.string({ unit: "binary", maxLength: 20 }),
);
/** Map keys that are safe as protobuf-es map object keys (never `__proto__`). */
const mapKey = fc.stringMatching(/^[a-z][a-z0-9_.]{0,11}$/);
export const stringMap = fc
  .array(fc.tuple(mapKey, text), { maxLength: 4 })
  .map((entries) => new Map(entries));
const safeCount = fc.oneof(
  fc.integer({ min: 1, max: 5 }),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);
const safeDiff = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
);
const nonZeroDiff = safeDiff.filter((d) => d !== 0);

// ---------------------------------------------------------------------------------------------
// Datums and rows

const int64 = fc.oneof(
  fc.constantFrom(I64_MIN, I64_MAX, 0n, -1n, 1n, 1n << 52n, -(1n << 52n)),
  fc.bigInt({ min: I64_MIN, max: I64_MAX }),
);

export const datum: fc.Arbitrary<Datum> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  int64,
  fc.oneof(
    fc.constantFrom(-0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    fc.constantFrom(Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 0.1),
    fc.double(),
  ),
  fc
    .tuple(
      fc.oneof(fc.bigInt({ min: -(10n ** 60n), max: 10n ** 60n }), fc.constant(10n ** 70n + 1n)),
      fc.integer({ min: 0, max: NUMERIC_MAX_SCALE }),
    )
    .map(([u, s]) => Datum.numericFromParts(u, s)),
  text,
  fc.uint8Array({ maxLength: 12 }),
  int64.map((ms) => Datum.timestamp(ms)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => Datum.jsonb(v)),
);

/** A row of exactly `arity` datums. */
export function row(arity: number): fc.Arbitrary<Row> {
  return fc.array(datum, { minLength: arity, maxLength: arity });
}

/** Any row (arity 0–4). */
export const anyRow = fc.integer({ min: 0, max: 4 }).chain(row);

// ---------------------------------------------------------------------------------------------
// Expressions and plans

const column = (arity: number) => fc.integer({ min: 0, max: arity - 1 });
const columns = (arity: number, maxLength = 3): fc.Arbitrary<number[]> =>
  arity === 0 ? fc.constant([]) : fc.array(column(arity), { maxLength });

/** An expression over an input of `arity` columns, at most `depth` levels deep. */
export function expr(arity: number, depth = 2): fc.Arbitrary<Expr> {
  const leaves: fc.Arbitrary<Expr>[] = [datum.map((value): Expr => ({ kind: "literal", value }))];
  if (arity > 0) leaves.push(column(arity).map((index): Expr => ({ kind: "column", index })));
  const leaf = fc.oneof(...leaves);
  if (depth <= 0) return leaf;
  const sub = expr(arity, depth - 1);
  return fc.oneof(
    { arbitrary: leaf, weight: 3 },
    fc
      .tuple(fc.constantFrom(...EXPR_OPERATORS.unary), sub)
      .map(([op, arg]): Expr => ({ kind: "unary", op, arg })),
    fc
      .tuple(fc.constantFrom(...EXPR_OPERATORS.binary), sub, sub)
      .map(([op, left, right]): Expr => ({ kind: "binary", op, left, right })),
    fc
      .tuple(
        fc.constantFrom(...EXPR_OPERATORS.variadic),
        fc.array(sub, { minLength: 1, maxLength: 3 }),
      )
      .map(([op, args]): Expr => ({ kind: "variadic", op, args })),
    fc
      .tuple(sub, sub, sub)
      .map(([c, t, e]): Expr => ({ kind: "if", cond: c, ifTrue: t, ifFalse: e })),
  );
}

/** `count` exprs where expression i sees `arity + i` columns (as in map and MFP). */
function growingExprs(arity: number, maxCount: number): fc.Arbitrary<Expr[]> {
  return fc
    .integer({ min: 0, max: maxCount })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => expr(arity + i, 1))));
}

const orderKey = (arity: number): fc.Arbitrary<OrderKey[]> =>
  arity === 0
    ? fc.constant([])
    : fc.array(fc.record({ column: column(arity), desc: fc.boolean(), nullsLast: fc.boolean() }), {
        maxLength: 2,
      });

/** A plan with its output arity. */
export type PlanWithArity = readonly [plan: Plan, arity: number];

/** Turns a plan of arity `from` into one of arity `to` (project, or map literals from arity 0). */
function coerce([p, from]: PlanWithArity, to: number): fc.Arbitrary<Plan> {
  if (from === to) return fc.constant(p);
  if (from > 0) {
    return fc
      .array(column(from), { minLength: to, maxLength: to })
      .map((cols): Plan => ({ kind: "project", input: p, columns: cols }));
  }
  return fc.array(datum, { minLength: to, maxLength: to }).map(
    (vs): Plan => ({
      kind: "map",
      input: p,
      exprs: vs.map((value) => ({ kind: "literal", value })),
    }),
  );
}

const constantPlan: fc.Arbitrary<PlanWithArity> = fc
  .integer({ min: 0, max: 3 })
  .chain((arity) =>
    fc
      .array(fc.tuple(row(arity), safeDiff), { maxLength: 3 })
      .map((rows): PlanWithArity => [{ kind: "constant", rows, arity }, arity]),
  );

const aggregate = (arity: number): fc.Arbitrary<{ func: AggregateFunc; column?: number }> => {
  const countStar = fc.constant({ func: "count" as const });
  if (arity === 0) return countStar;
  return fc.oneof(
    countStar,
    fc
      .tuple(fc.constantFrom(...EXPR_OPERATORS.aggregate), column(arity))
      .map(([func, c]) => ({ func, column: c })),
  );
};

/**
 * A valid plan over `env` (import id → arity), at most `depth` levels deep, with its arity.
 */
export function plan(
  env: ReadonlyArray<readonly [GlobalId, number]>,
  depth = 3,
): fc.Arbitrary<PlanWithArity> {
  const leaves: fc.Arbitrary<PlanWithArity>[] = [constantPlan];
  if (env.length > 0) {
    leaves.push(
      fc
        .constantFrom(...env)
        .map(([id, arity]): PlanWithArity => [{ kind: "get", id, arity }, arity]),
    );
  }
  const leaf = fc.oneof(...leaves);
  if (depth <= 0) return leaf;
  const sub = plan(env, depth - 1);
  const unaryNode = (kind: "negate" | "distinct" | "threshold") =>
    sub.map(([input, a]): PlanWithArity => [{ kind, input }, a]);
  return fc.oneof(
    { arbitrary: leaf, weight: 4 },
    sub.chain(([input, a]) =>
      growingExprs(a, 2).map(
        (exprs): PlanWithArity => [{ kind: "map", input, exprs }, a + exprs.length],
      ),
    ),
    sub.chain(([input, a]) =>
      fc
        .array(expr(a), { maxLength: 2 })
        .map((predicates): PlanWithArity => [{ kind: "filter", input, predicates }, a]),
    ),
    sub.chain(([input, a]) =>
      columns(a, 4).map(
        (cols): PlanWithArity => [{ kind: "project", input, columns: cols }, cols.length],
      ),
    ),
    sub.chain((first) =>
      fc
        .array(
          sub.chain((q) => coerce(q, first[1])),
          { maxLength: 2 },
        )
        .map((rest): PlanWithArity => [{ kind: "union", inputs: [first[0], ...rest] }, first[1]]),
    ),
    unaryNode("negate"),
    unaryNode("distinct"),
    unaryNode("threshold"),
    fc.array(sub, { minLength: 2, maxLength: 3 }).chain((inputs) => {
      const wide = inputs.map(([, a], i) => [i, a] as const).filter(([, a]) => a > 0);
      const joinColumn =
        wide.length === 0
          ? null
          : fc.constantFrom(...wide).chain(([i, a]) => column(a).map((c) => [i, c] as const));
      const equivalences =
        joinColumn === null
          ? fc.constant([])
          : fc.array(fc.array(joinColumn, { minLength: 2, maxLength: 3 }), { maxLength: 2 });
      return equivalences.map(
        (eq): PlanWithArity => [
          { kind: "join", inputs: inputs.map(([p]) => p), equivalences: eq },
          inputs.reduce((s, [, a]) => s + a, 0),
        ],
      );
    }),
    sub.chain(([input, a]) =>
      fc
        .tuple(columns(a), fc.array(aggregate(a), { maxLength: 3 }))
        .map(
          ([groupKey, aggregates]): PlanWithArity => [
            { kind: "reduce", input, groupKey, aggregates },
            groupKey.length + aggregates.length,
          ],
        ),
    ),
    sub.chain(([input, a]) =>
      fc
        .tuple(
          columns(a),
          orderKey(a),
          fc.option(fc.oneof(fc.nat(10), fc.constant(Number.MAX_SAFE_INTEGER)), { nil: undefined }),
          fc.oneof(fc.nat(10), fc.constant(Number.MAX_SAFE_INTEGER)),
        )
        .map(
          ([groupKey, orderBy, limit, offset]): PlanWithArity => [
            limit === undefined
              ? { kind: "topK", input, groupKey, orderBy, offset }
              : { kind: "topK", input, groupKey, orderBy, limit, offset },
            a,
          ],
        ),
    ),
    sub.chain(([input, a]) =>
      columns(a).map((key): PlanWithArity => [{ kind: "arrangeBy", input, key }, a]),
    ),
  );
}

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

// ---------------------------------------------------------------------------------------------
// Hello, errors

export const hello: fc.Arbitrary<Hello> = fc.record({
  nonce: uuid,
  generation: u64,
  protocolVersion: fc.integer({ min: 1, max: 0xffff_ffff }),
  buildVersion: fc.string({ minLength: 1, unit: "binary" }),
});

function commandError(kinds: readonly string[]): fc.Arbitrary<CommandError> {
  return fc.record({
    objectId: fc.oneof(globalId, uuid, fc.constant("")),
    command: fc.constantFrom(...kinds),
    code: fc.constantFrom(...ERROR_CODES),
    message: fc.string({ minLength: 1, unit: "binary" }),
  });
}

// ---------------------------------------------------------------------------------------------
// Compute

const optionalU64 = fc.option(u64, { nil: undefined });

/** One arbitrary per compute command kind. */
export const computeCommands: { readonly [K in ComputeCommandKind]: fc.Arbitrary<ComputeCommand> } =
  {
    hello: hello.map((h) => ({ kind: "hello", hello: h })),
    createInstance: fc
      .record({
        enabled: fc.boolean(),
        intervalMs: fc.integer({ min: 1, max: 0xffff_ffff }),
        logLogging: fc.boolean(),
        indexLogs: fc.array(fc.tuple(mapKey, globalId), { maxLength: 3 }).map((e) => new Map(e)),
        offset: optionalU64,
      })
      .map(({ offset, ...logging }) => ({
        kind: "createInstance",
        config: { logging, ...(offset === undefined ? {} : { expirationOffsetMs: offset }) },
      })),
    initializationComplete: fc.constant({ kind: "initializationComplete" }),
    updateConfiguration: fc
      .record({ max: optionalU64, wc: fc.option(text, { nil: undefined }), dyncfg: stringMap })
      .map(({ max, wc, dyncfg }) => ({
        kind: "updateConfiguration",
        params: {
          dyncfgUpdates: dyncfg,
          ...(max === undefined ? {} : { maxResultSize: max }),
          ...(wc === undefined ? {} : { workloadClass: wc }),
        },
      })),
    createDataflow: dataflow.map((d) => ({ kind: "createDataflow", dataflow: d })),
    schedule: globalId.map((id) => ({ kind: "schedule", id })),
    allowCompaction: fc
      .tuple(globalId, frontier)
      .map(([id, f]) => ({ kind: "allowCompaction", id, frontier: f })),
    peek: peek.map((p) => ({ kind: "peek", peek: p })),
    cancelPeek: uuid.map((u) => ({ kind: "cancelPeek", uuid: u })),
    allowWrites: globalId.map((id) => ({ kind: "allowWrites", id })),
  };

export const computeCommand: fc.Arbitrary<ComputeCommand> = fc.oneof(
  ...Object.values(computeCommands),
);

/** Updates inside `[lower, upper)`. */
function updatesIn(lower: Timestamp, upper: Frontier): fc.Arbitrary<Update[]> {
  const time = fc.bigInt({ min: lower, max: upper === null ? U64_MAX : upper - 1n });
  return fc.array(fc.tuple(anyRow, time, nonZeroDiff), { maxLength: 4 });
}

const subscribeBatch = fc
  .bigInt({ min: 0n, max: U64_MAX - 1n })
  .chain((lower) =>
    fc
      .option(fc.bigInt({ min: lower + 1n, max: U64_MAX }), { nil: null, freq: 4 })
      .map((upper) => [lower, upper] as const),
  )
  .chain(([lower, upper]) =>
    fc
      .oneof(
        updatesIn(lower, upper).map((updates) => ({ kind: "updates" as const, updates })),
        fc.string({ minLength: 1 }).map((message) => ({ kind: "error" as const, message })),
      )
      .map((result) => ({ kind: "batch" as const, lower, upper, result })),
  );

/** One arbitrary per compute response kind. */
export const computeResponses: {
  readonly [K in ComputeResponseKind]: fc.Arbitrary<ComputeResponse>;
} = {
  frontiers: fc
    .tuple(
      globalId,
      fc
        .record({ write: frontier, input: frontier, output: frontier }, { requiredKeys: [] })
        .filter((f) => Object.keys(f).length > 0),
    )
    .map(([id, frontiers]) => ({ kind: "frontiers", id, frontiers })),
  peekResponse: fc
    .tuple(
      uuid,
      fc.oneof(
        fc
          .array(fc.tuple(anyRow, safeCount), { maxLength: 5 })
          .map((rows) => ({ kind: "rows" as const, rows })),
        fc.string({ minLength: 1 }).map((message) => ({ kind: "error" as const, message })),
        fc.constant({ kind: "canceled" as const }),
      ),
    )
    .map(([u, response]) => ({ kind: "peekResponse", uuid: u, response })),
  subscribeResponse: fc
    .tuple(
      globalId,
      fc.oneof(
        subscribeBatch,
        frontier.map((f) => ({ kind: "droppedAt" as const, frontier: f })),
      ),
    )
    .map(([id, response]) => ({ kind: "subscribeResponse", id, response })),
  status: fc
    .array(fc.record({ id: globalId, hydrated: fc.boolean() }), { maxLength: 3 })
    .map((hydration) => ({ kind: "status", hydration })),
  commandError: commandError(COMPUTE_COMMAND_KINDS).map((error) => ({
    kind: "commandError",
    error,
  })),
};

export const computeResponse: fc.Arbitrary<ComputeResponse> = fc.oneof(
  ...Object.values(computeResponses),
);

// ---------------------------------------------------------------------------------------------
// Storage

const ingestion = fc
  .record({
    base: fc.nat(1_000_000),
    exports: fc.array(fc.tuple(shardId, fc.nat(5), text), { minLength: 1, maxLength: 3 }),
    generator: fc.oneof(
      fc
        .option(fc.bigInt({ min: 1n, max: U64_MAX }), { nil: undefined })
        .map((max) =>
          max === undefined
            ? { kind: "counter" as const }
            : { kind: "counter" as const, maxCardinality: max },
        ),
      fc
        .option(fc.bigInt({ min: 10n, max: U64_MAX }), { nil: undefined })
        .map((max) =>
          max === undefined
            ? { kind: "auction" as const }
            : { kind: "auction" as const, maxAuctions: max },
        ),
    ),
    seed: u64,
    tickIntervalMs: fc.integer({ min: 1, max: 0xffff_ffff }),
    deterministic: fc.option(
      fc.record({ startTimeMs: timestamp, maxTicks: u64 }, { requiredKeys: ["startTimeMs"] }),
      { nil: undefined },
    ),
  })
  .map(({ base, exports, deterministic, ...c }) => ({
    sourceExports: exports.map(([s, outputIndex, name], i) => ({
      id: `u${base + i}`,
      shardId: s,
      outputIndex,
      name,
    })),
    connection: {
      kind: "loadGenerator" as const,
      ...c,
      ...(deterministic === undefined ? {} : { deterministic }),
    },
  }));

/** One arbitrary per storage command kind. */
export const storageCommands: { readonly [K in StorageCommandKind]: fc.Arbitrary<StorageCommand> } =
  {
    hello: hello.map((h) => ({ kind: "hello", hello: h })),
    initializationComplete: fc.constant({ kind: "initializationComplete" }),
    allowWrites: fc.constant({ kind: "allowWrites" }),
    updateConfiguration: stringMap.map((params) => ({ kind: "updateConfiguration", params })),
    runIngestion: fc
      .tuple(globalId, ingestion)
      .map(([id, description]) => ({ kind: "runIngestion", id, description })),
    runSink: fc
      .record({
        id: globalId,
        fromId: globalId,
        fromShardId: shardId,
        target: shardId,
        asOf: frontier,
      })
      .map(({ id, target, ...d }) => ({
        kind: "runSink",
        id,
        description: { ...d, connection: { kind: "persist" as const, shardId: target } },
      })),
    allowCompaction: fc
      .tuple(globalId, frontier)
      .map(([id, f]) => ({ kind: "allowCompaction", id, frontier: f })),
  };

export const storageCommand: fc.Arbitrary<StorageCommand> = fc.oneof(
  ...Object.values(storageCommands),
);

const sourceStats = fc.record(
  {
    id: globalId,
    messagesReceived: u64,
    bytesReceived: u64,
    updatesStaged: u64,
    updatesCommitted: u64,
    recordsIndexed: u64,
    snapshotCommitted: fc.boolean(),
    snapshotRecordsKnown: u64,
    snapshotRecordsStaged: u64,
    offsetKnown: u64,
    offsetCommitted: u64,
    rehydrationLatencyMs: u64,
  },
  {
    requiredKeys: [
      "id",
      "messagesReceived",
      "bytesReceived",
      "updatesStaged",
      "updatesCommitted",
      "recordsIndexed",
      "snapshotCommitted",
    ],
  },
);

const sinkStats = fc.record({
  id: globalId,
  messagesStaged: u64,
  messagesCommitted: u64,
  bytesStaged: u64,
  bytesCommitted: u64,
});

/** One arbitrary per storage response kind. */
export const storageResponses: {
  readonly [K in StorageResponseKind]: fc.Arbitrary<StorageResponse>;
} = {
  frontierUpper: fc
    .tuple(globalId, frontier)
    .map(([id, upper]) => ({ kind: "frontierUpper", id, upper })),
  droppedId: globalId.map((id) => ({ kind: "droppedId", id })),
  statisticsUpdates: fc
    .tuple(fc.array(sourceStats, { maxLength: 3 }), fc.array(sinkStats, { maxLength: 3 }))
    .map(([sources, sinks]) => ({ kind: "statisticsUpdates", sources, sinks })),
  statusUpdate: fc
    .record(
      {
        id: globalId,
        status: fc.constantFrom(...OBJECT_STATUSES),
        timestampMs: timestamp,
        error: fc.string({ minLength: 1 }),
        hints: fc.array(text, { maxLength: 3 }),
        namespacedErrors: stringMap,
        replicaId,
      },
      { requiredKeys: ["id", "status", "timestampMs", "hints", "namespacedErrors"] },
    )
    .map((update) => ({ kind: "statusUpdate", update })),
  commandError: commandError(STORAGE_COMMAND_KINDS).map((error) => ({
    kind: "commandError",
    error,
  })),
};

export const storageResponse: fc.Arbitrary<StorageResponse> = fc.oneof(
  ...Object.values(storageResponses),
);

// ---------------------------------------------------------------------------------------------
// Cluster

export const clusterCommand: fc.Arbitrary<ClusterCommand> = fc.oneof(
  computeCommand.map((command) => ({ kind: "compute" as const, command })),
  storageCommand.map((command) => ({ kind: "storage" as const, command })),
);

export const clusterResponse: fc.Arbitrary<ClusterResponse> = fc.oneof(
  computeResponse.map((response) => ({ kind: "compute" as const, response })),
  storageResponse.map((response) => ({ kind: "storage" as const, response })),
);
