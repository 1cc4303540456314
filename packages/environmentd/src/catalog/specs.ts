/**
 * The catalog's stored specs: how a source's spec and a materialized view's definition are
 * written into and read back from catalog rows. Both are the protobuf JSON of the request that
 * created the object (`CreateSourceRequest`, `CreateMaterializedViewRequest`), so a row is
 * self-describing and decoded by the same codecs (and validation) as the API.
 *
 * ## Invariants
 * - `decode*(encode*(req))` gives back what the object runs (the load generator, the plan).
 * - This is the only place in environmentd outside transport code (`api/server.ts`, the CLI)
 *   that touches `@mzts/protocol/wire`: the stored format is a wire format.
 */
import { fromJson, type JsonValue as ProtoJson, toJson, toJsonString } from "@bufbuild/protobuf";
import type { Plan } from "@mzts/expr";
import {
  type CreateMaterializedViewRequest,
  type CreateSourceRequest,
  environmentCodecs,
  type IngestionConnection,
} from "@mzts/protocol";
import { environmentV1 as S } from "@mzts/protocol/wire";
import type { JsonValue } from "./catalog.js";

/** A source's catalog spec: the protobuf JSON of the request that created it. */
export function encodeSourceSpec(req: CreateSourceRequest): JsonValue {
  return toJson(
    S.CreateSourceRequestSchema,
    environmentCodecs.createSourceRequest.toProto(req),
  ) as JsonValue;
}

/** The ingestion connection (load generator) a source's catalog spec describes. */
export function decodeSourceConnection(spec: JsonValue): IngestionConnection {
  const msg = fromJson(S.CreateSourceRequestSchema, spec as ProtoJson);
  return environmentCodecs.createSourceRequest.fromProto(msg).loadGenerator;
}

/** A materialized view's catalog definition: the JSON text of the request that created it. */
export function encodeViewDefinition(req: CreateMaterializedViewRequest): string {
  return toJsonString(
    S.CreateMaterializedViewRequestSchema,
    environmentCodecs.createMaterializedViewRequest.toProto(req),
  );
}

/** The plan a materialized view's catalog definition holds. */
export function decodeViewPlan(definition: string): Plan {
  const msg = fromJson(S.CreateMaterializedViewRequestSchema, JSON.parse(definition));
  return environmentCodecs.createMaterializedViewRequest.fromProto(msg).plan;
}
