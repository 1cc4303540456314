/**
 * environmentd validates every plan, expression and key row before it commits or sends anything
 * (issue 10, "One request must never take down a cluster"). No replica is needed: every refusal
 * here happens before a command would be sent, which is the point. What each bad input gets:
 *
 * | input                                              | answer                                    |
 * |----------------------------------------------------|-------------------------------------------|
 * | peek `winning_bids_idx` with key rows `[{}]`       | InvalidArgument at literalConstraints.rows[0] (0 datums, key has 1) |
 * | key row wider than the index key                   | InvalidArgument (2 datums, key has 1)     |
 * | key datum of the wrong type (text for int64)       | InvalidArgument at …rows[0].datums[0]     |
 * | more than MAX_KEY_ROWS key rows                    | InvalidArgument (MAX_KEY_ROWS)            |
 * | an index with an empty key (= the whole row)       | stored as every column; key rows need every column |
 * | view whose predicate nests 47 `not`s (API, in-process) | InvalidArgument (MAX_NESTING_DEPTH), nothing in the catalog |
 * | the same nesting 80 `not`s (beyond protobuf's default recursion limit) | InvalidArgument, not Internal |
 * | peek whose filter nests 47 `not`s                  | InvalidArgument (MAX_NESTING_DEPTH)       |
 * | a too-deep view already in the catalog (old data)  | boot succeeds; status: failed + reason; peeks of its index FailedPrecondition; drop works |
 * | an index whose dataflow kills the replica (injected) | quarantined after 2 failures: status failed + reason, peeks FailedPrecondition, other peeks answer, drop works |
 *
 * The last case needs a replica (one real clusterd): the compute connection is the real one,
 * wrapped to end the stream whenever it writes the poison dataflow — what a replica that dies or
 * refuses on a command does to its controller.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type ComputeReplicaConnector, connectLegacyComputeReplica } from "@mzts/compute-client";
import { type Expr, MAX_KEY_ROWS, type Plan } from "@mzts/expr";
import { PhaseSet } from "@mzts/flags";
import { environmentCodecs } from "@mzts/protocol";
import { EnvironmentService, environmentV1 } from "@mzts/protocol/wire";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startApiServer } from "../src/api/server.js";
import type { Catalog } from "../src/catalog/catalog.js";
import { openSqliteCatalog } from "../src/catalog/sqlite.js";
import { createEnvironment } from "../src/environment.js";
import { InvalidObjectRequest } from "../src/errors.js";

const c = environmentCodecs;
const logger = pino({ level: "silent" });

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  cleanup = [];
});

async function start(
  dataDir: string,
  catalog: Catalog,
  computeConnector?: ComputeReplicaConnector,
) {
  const registry = new Registry();
  const env = await createEnvironment({
    dataDir,
    phaseFlags: (id) => PhaseSet.of(id, {}),
    logger,
    registry,
    catalog,
    controllerAbsentTimeoutMs: 30_000,
    ...(computeConnector === undefined ? {} : { computeConnector }),
  });
  const api = await startApiServer({ environment: env, registry, logger });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await api.close();
    await env.close();
  };
  cleanup.push(stop);
  const client = createClient(EnvironmentService, createGrpcTransport({ baseUrl: api.grpcUrl }));
  return { env, client, stop };
}

async function refusal(p: Promise<unknown>, code: Code): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "expected a refusal").toBeInstanceOf(ConnectError);
  expect(Code[(e as ConnectError).code]).toBe(Code[code]);
  return (e as ConnectError).rawMessage;
}

function nots(n: number): Expr {
  let e: Expr = { kind: "column", index: 0 };
  for (let i = 0; i < n; i++) e = { kind: "unary", op: "not", arg: e };
  return e;
}

/** The demo's objects: an auction source, winning_bids and winning_bids_idx (key [0], int64). */
async function demoObjects(env: Awaited<ReturnType<typeof start>>["env"]) {
  await env.createCluster({ name: "c1" });
  const source = await env.createSource({
    name: "auction",
    cluster: "c1",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "auction" },
      seed: 1n,
      tickIntervalMs: 100,
      deterministic: { startTimeMs: 1_700_000_000_000n, maxTicks: 3n },
    },
  });
  const bids = source.subsources[4]!.id;
  await env.createMaterializedView({
    name: "winning_bids",
    cluster: "c1",
    plan: {
      kind: "reduce",
      input: { kind: "get", id: bids, arity: 5 },
      groupKey: [2],
      aggregates: [{ func: "max", column: 3 }, { func: "count" }],
    },
  });
  await env.createIndex({ name: "winning_bids_idx", cluster: "c1", on: "winning_bids", key: [0] });
  return { bids };
}

describe("environmentd validation", () => {
  it("refuses bad key rows, deep plans and deep peeks with InvalidArgument before sending anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-envd-validate-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const catalog = openSqliteCatalog({ path: join(dir, "catalog.sqlite") });
    cleanup.push(() => catalog.close());
    const { env, client } = await start(dir, catalog);
    const { bids } = await demoObjects(env);

    const peek = (rows: unknown[]) =>
      client.peek({ object: "winning_bids_idx", literalConstraints: { rows: rows as never } });
    expect(await refusal(peek([{}]), Code.InvalidArgument)).toBe(
      "invalid request at literalConstraints.rows[0]: has 0 datums; the key of winning_bids_idx " +
        "has 1 (column 0): give one datum per key column; nothing was changed — fix it and retry",
    );
    expect(
      await refusal(
        peek([
          {
            datums: [
              { value: { case: "int64Value", value: 1n } },
              { value: { case: "int64Value", value: 2n } },
            ],
          },
        ]),
        Code.InvalidArgument,
      ),
    ).toContain("literalConstraints.rows[0]: has 2 datums; the key of winning_bids_idx has 1");
    expect(
      await refusal(
        peek([{ datums: [{ value: { case: "textValue", value: "1" } }] }]),
        Code.InvalidArgument,
      ),
    ).toBe(
      "invalid request at literalConstraints.rows[0].datums[0]: is text; key column 0 of " +
        "winning_bids_idx is int64: send a datum of type int64; nothing was changed — fix it and retry",
    );
    // An empty index key means the whole row: stored as every column, key rows need them all.
    await env.createIndex({ name: "whole_idx", cluster: "c1", on: "winning_bids", key: [] });
    const listed = await env.listObjects({});
    expect(listed.objects.find((o) => o.name === "whole_idx")?.key).toEqual([0, 1, 2]);
    expect(
      await refusal(
        client.peek({ object: "whole_idx", literalConstraints: { rows: [{}] } }),
        Code.InvalidArgument,
      ),
    ).toContain("has 0 datums; the key of whole_idx has 3 (columns 0, 1, 2)");
    // Many key rows (in process: the wire would need MAX_KEY_ROWS + 1 rows too).
    await expect(
      env.peek({
        object: "winning_bids_idx",
        literalConstraints: Array.from({ length: MAX_KEY_ROWS + 1 }, (_, i) => [BigInt(i)]),
      }),
    ).rejects.toThrow(/MAX_KEY_ROWS = 10000/);

    // A view nesting 47 nots: refused over the API and in process; nothing reaches the catalog.
    const deep: Plan = {
      kind: "filter",
      input: { kind: "get", id: bids, arity: 5 },
      predicates: [nots(47)],
    };
    const before = (await catalog.listItems()).length;
    expect(
      await refusal(
        client.createMaterializedView(
          c.createMaterializedViewRequest.toProto({ name: "deep", cluster: "c1", plan: deep }),
        ),
        Code.InvalidArgument,
      ),
    ).toMatch(/exceeds MAX_NESTING_DEPTH = 40; split or simplify it/);
    // Deeper than protobuf's default recursion limit (100): still decoded, still InvalidArgument.
    expect(
      await refusal(
        client.createMaterializedView(
          c.createMaterializedViewRequest.toProto({
            name: "deeper",
            cluster: "c1",
            plan: { ...deep, predicates: [nots(80)] },
          }),
        ),
        Code.InvalidArgument,
      ),
    ).toMatch(/exceeds MAX_NESTING_DEPTH = 40/);
    const inProcess = await env
      .createMaterializedView({ name: "deep", cluster: "c1", plan: deep })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(inProcess).toBeInstanceOf(InvalidObjectRequest);
    expect((inProcess as InvalidObjectRequest).field).toMatch(
      /^plan\.filter\.predicates\[0\](\.not)+$/,
    );
    expect((await catalog.listItems()).length).toBe(before);

    // A peek whose filter nests 47 nots.
    expect(
      await refusal(
        client.peek(
          c.peekRequest.toProto({
            object: "winning_bids_idx",
            mapFilterProject: { exprs: [], predicates: [nots(47)], projection: [0, 1, 2] },
          }),
        ),
        Code.InvalidArgument,
      ),
    ).toMatch(/MAX_NESTING_DEPTH = 40/);
  }, 60_000);

  it("boots over a too-deep view already in the catalog and reports it failed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-envd-validate-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "catalog.sqlite");
    const catalog = openSqliteCatalog({ path });
    cleanup.push(() => catalog.close());
    const first = await start(dir, catalog);
    const { bids } = await demoObjects(first.env);
    // What an older environmentd committed: a view nesting 47 nots, and an index on it.
    const plan: Plan = {
      kind: "filter",
      input: { kind: "get", id: bids, arity: 5 },
      predicates: [nots(47)],
    };
    await catalog.createMaterializedView(first.env.generation, {
      name: "deep",
      cluster: "c1",
      definition: toJsonString(
        environmentV1.CreateMaterializedViewRequestSchema,
        c.createMaterializedViewRequest.toProto({ name: "deep", cluster: "c1", plan }),
      ),
      dependsOn: [bids],
    });
    const deepId = (await catalog.listItems()).find((i) => i.name === "deep")!.id;
    await catalog.createIndex(first.env.generation, {
      name: "deep_idx",
      cluster: "c1",
      definition: JSON.stringify({ on: deepId }),
      key: [0],
      dependsOn: [deepId],
    });
    await first.stop();

    const catalog2 = openSqliteCatalog({ path });
    cleanup.push(() => catalog2.close());
    const second = await start(dir, catalog2);
    const status = c.statusResponse.fromProto(await second.client.status({}));
    const cols = status.clusters[0]!.collections;
    expect(cols.find((x) => x.name === "deep")?.failed).toMatch(
      /^its stored definition is invalid \(.*MAX_NESTING_DEPTH = 40.*\); drop it and create a fixed version$/,
    );
    expect(cols.find((x) => x.name === "deep_idx")?.failed).toMatch(/^deep failed: its stored/);
    expect(cols.find((x) => x.name === "winning_bids")?.failed).toBeUndefined();
    expect(
      await refusal(second.client.peek({ object: "deep_idx" }), Code.FailedPrecondition),
    ).toMatch(/^deep_idx failed and is no longer maintained: deep failed: .*drop deep_idx/);
    // A view reading it is refused, naming the failure.
    const deepGet: Plan = { kind: "get", id: deepId, arity: 5 };
    expect(
      await refusal(
        second.client.createMaterializedView(
          c.createMaterializedViewRequest.toProto({
            name: "on_deep",
            cluster: "c1",
            plan: deepGet,
          }),
        ),
        Code.FailedPrecondition,
      ),
    ).toMatch(/^deep failed and is no longer maintained: its stored definition is invalid/);
    await second.client.dropObject({ name: "deep", cascade: true });
    expect((await catalog2.listItems()).map((i) => i.name)).not.toContain("deep");
  }, 60_000);

  it("quarantines an index whose dataflow made the replica fail twice and reports it in status", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-envd-validate-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const catalog = openSqliteCatalog({ path: join(dir, "catalog.sqlite") });
    cleanup.push(() => catalog.close());
    let poisonWrites = 0;
    const connector: ComputeReplicaConnector = (o) => {
      let conn: ReturnType<ComputeReplicaConnector> | undefined;
      let failed = false;
      conn = connectLegacyComputeReplica({
        ...o,
        onFailed: (e, err) => {
          if (!failed) o.onFailed(e, err);
          failed = true;
        },
        onCommandSent: (cmd) => {
          o.onCommandSent?.(cmd);
          if (cmd.kind !== "createDataflow" || cmd.dataflow.debugName !== "poison_idx") return;
          poisonWrites++;
          queueMicrotask(() => {
            if (failed) return;
            failed = true;
            void conn?.close();
            o.onFailed(o.epoch, new Error("the replica died applying poison_idx"));
          });
        },
      });
      return conn;
    };
    const { env, client } = await start(dir, catalog, connector);
    await demoObjects(env);
    await env.createReplica({ cluster: "c1", name: "r1", size: 1 });
    // The deterministic source's last time: start + 3 ticks of 100 ms, minus one.
    const T = 1_700_000_000_000n + 299n;
    const good = await env.peek({ object: "winning_bids_idx", timestamp: T, timeoutMs: 30_000 });
    expect(good.rows.length).toBeGreaterThan(0);

    await env.createIndex({ name: "poison_idx", cluster: "c1", on: "winning_bids", key: [1] });
    const deadline = Date.now() + 20_000;
    let failed: string | undefined;
    while (failed === undefined && Date.now() < deadline) {
      const st = c.statusResponse.fromProto(await client.status({}));
      failed = st.clusters[0]?.collections.find((x) => x.name === "poison_idx")?.failed;
      if (failed === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(failed).toMatch(
      /^quarantined: replica u\d+ failed 2 times while applying it \(last: the replica died applying poison_idx\); it is no longer sent to replicas$/,
    );
    expect(poisonWrites).toBe(2);
    expect(await refusal(client.peek({ object: "poison_idx" }), Code.FailedPrecondition)).toMatch(
      /^poison_idx failed and is no longer maintained: quarantined: .*drop poison_idx/,
    );
    // The replica is back (the replay no longer holds the poison) and answers the good peek.
    const again = await env.peek({
      object: "winning_bids_idx",
      timestamp: T,
      timeoutMs: 30_000,
    });
    expect(again.rows).toEqual(good.rows);
    expect(poisonWrites).toBe(2);
    await client.dropObject({ name: "poison_idx" });
    const st = c.statusResponse.fromProto(await client.status({}));
    expect(st.clusters[0]?.collections.map((x) => x.name)).not.toContain("poison_idx");
  }, 90_000);
});
