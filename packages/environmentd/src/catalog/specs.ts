/**
 * The catalog's stored specs: how a source's spec and a materialized view's definition are
 * written into and read back from catalog rows. Both are the protobuf JSON of the request that
 * created the object (`CreateSourceRequest`, `CreateMaterializedViewRequest`), so a row is
 * self-describing and decoded by the same codecs (and validation) as the API.
 *
 * ## Invariants
 * - `decode*(encode*(req))` gives back what the object runs (the load generator, the plan).
 * - The schemas come with the API codecs (`environmentCodecs.<message>.schema`): environmentd
 *   imports `@mzts/protocol/wire` only in transport code (`api/server.ts`, the CLI).
 */
import { fromJson, type JsonValue as ProtoJson, toJson, toJsonString } from "@bufbuild/protobuf";
import type { Plan } from "@mzts/expr";
import {
  type CreateMaterializedViewRequest,
  type CreateSourceRequest,
  environmentCodecs,
  type IngestionConnection,
} from "@mzts/protocol";
import type { JsonValue } from "./catalog.js";

/** A source's catalog spec: the protobuf JSON of the request that created it. */
export function encodeSourceSpec(req: CreateSourceRequest): JsonValue {
  const c = environmentCodecs.createSourceRequest;
  return toJson(c.schema, c.toProto(req)) as JsonValue;
}

/** The ingestion connection (load generator) a source's catalog spec describes. */
export function decodeSourceConnection(spec: JsonValue): IngestionConnection {
  const c = environmentCodecs.createSourceRequest;
  return c.fromProto(fromJson(c.schema, spec as ProtoJson)).loadGenerator;
}

/** A materialized view's catalog definition: the JSON text of the request that created it. */
export function encodeViewDefinition(req: CreateMaterializedViewRequest): string {
  const c = environmentCodecs.createMaterializedViewRequest;
  return toJsonString(c.schema, c.toProto(req));
}

/** The plan a materialized view's catalog definition holds. */
export function decodeViewPlan(definition: string): Plan {
  const c = environmentCodecs.createMaterializedViewRequest;
  return c.fromProto(fromJson(c.schema, JSON.parse(definition))).plan;
}
