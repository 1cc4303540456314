/**
 * Datum and row codec: `@mzts/repr` `Datum`/`Row` ⇄ `mz.repr.v1.Datum`/`Row` (the typed, JSON-
 * readable form used for plan constants, literals and key lookups).
 *
 * Decoding checks every case: exactly one oneof case set, a numeric's unscaled digits and scale
 * (≤ `NUMERIC_MAX_SCALE`; the value is canonicalised), jsonb text that parses as JSON (it is
 * re-canonicalised). Encoding throws `InvalidDatum` for a value that is not a datum or an int64 /
 * timestamp outside the int64 range.
 */
import { create } from "@bufbuild/protobuf";
import { Datum, InvalidDatum, NUMERIC_MAX_SCALE, type Row } from "@mzts/repr";
import {
  type Datum as DatumProto,
  DatumSchema,
  type Row as RowProto,
  RowSchema,
} from "../gen/mz/repr/v1/repr_pb.js";
import { fail, required } from "./field.js";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function checkInt64(v: bigint, what: string): bigint {
  if (v < INT64_MIN || v > INT64_MAX) throw new InvalidDatum(v, `${what} out of int64 range`);
  return v;
}

/** The wire form of a datum. @throws InvalidDatum when `d` is not a datum. */
export function datumToProto(d: Datum): DatumProto {
  switch (Datum.typeOf(d)) {
    case "null":
      return create(DatumSchema, { value: { case: "nullValue", value: {} } });
    case "boolean":
      return create(DatumSchema, { value: { case: "boolValue", value: d as boolean } });
    case "int64":
      return create(DatumSchema, {
        value: { case: "int64Value", value: checkInt64(d as bigint, "int64") },
      });
    case "float64":
      return create(DatumSchema, { value: { case: "float64Value", value: d as number } });
    case "text":
      return create(DatumSchema, { value: { case: "textValue", value: d as string } });
    case "bytes":
      return create(DatumSchema, { value: { case: "bytesValue", value: d as Uint8Array } });
    case "numeric": {
      const n = d as Extract<Datum, { kind: "numeric" }>;
      return create(DatumSchema, {
        value: {
          case: "numericValue",
          value: { unscaled: n.unscaled.toString(), scale: n.scale },
        },
      });
    }
    case "timestamp": {
      const t = d as Extract<Datum, { kind: "timestamp" }>;
      return create(DatumSchema, {
        value: { case: "timestampValue", value: checkInt64(t.ms, "timestamp") },
      });
    }
    case "jsonb":
      return create(DatumSchema, {
        value: { case: "jsonbValue", value: (d as Extract<Datum, { kind: "jsonb" }>).text },
      });
  }
}

const UNSCALED = /^-?[0-9]+$/;

/** Decodes a datum. @throws FieldError naming the bad part. */
export function datumFromProto(p: DatumProto, path: string): Datum {
  const v = p.value;
  switch (v.case) {
    case "nullValue":
      return null;
    case "boolValue":
    case "int64Value":
    case "float64Value":
    case "textValue":
    case "bytesValue":
      return v.value;
    case "numericValue": {
      const { unscaled, scale } = v.value;
      if (!UNSCALED.test(unscaled)) {
        fail(`${path}.numericValue.unscaled`, `${JSON.stringify(unscaled)} is not an integer`);
      }
      if (scale > NUMERIC_MAX_SCALE) {
        fail(
          `${path}.numericValue.scale`,
          `scale ${scale} exceeds the maximum ${NUMERIC_MAX_SCALE}`,
        );
      }
      return Datum.numericFromParts(BigInt(unscaled), scale);
    }
    case "timestampValue":
      return Datum.timestamp(v.value);
    case "jsonbValue":
      try {
        return Datum.jsonbFromText(v.value);
      } catch (e) {
        if (e instanceof InvalidDatum) fail(`${path}.jsonbValue`, e.reason);
        throw e;
      }
    case undefined:
      return fail(path, "no value case is set (SQL NULL is the explicit nullValue case)");
  }
}

/** The wire form of a row. @throws InvalidDatum when a column is not a datum. */
export function rowToProto(row: Row): RowProto {
  return create(RowSchema, { datums: row.map(datumToProto) });
}

/** Decodes a row. @throws FieldError */
export function rowFromProto(p: RowProto | undefined, path: string): Row {
  return required(p, path).datums.map((d, i) => datumFromProto(d, `${path}.datums[${i}]`));
}
