/**
 * `peekCommandFrame`: the binary `ComputeCommand` of a peek, written field by field with
 * protobuf-es's `BinaryWriter` instead of building the message and encoding it by reflection
 * (issue 16: every API peek is one; reflection was ~6 % of environmentd's busy time at 256 in
 * flight). Only the plan parts a peek may carry — `mapFilterProject` expressions, `finishing`
 * order keys, literal-constraint rows — go through their schemas, and only when present.
 *
 * ## Invariant
 * The bytes are exactly `encodeComputeCommand({ kind: "peek", peek })`'s: fields in field-number
 * order, proto3 defaults (0, "", empty lists) left out, messages always written when set (even
 * empty), explicit `optional`s written when set, repeated scalars packed. A property test over
 * arbitrary peeks holds it (`control-frames.property.test.ts`).
 */
import { toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { rowToProto } from "../codec/datum-codec.js";
import { peekCommandFrameDirect } from "../codec/peek-command-frame.js";
import { exprToProto, orderKeyToProto } from "../codec/plan-codec.js";
import { ExprSchema, OrderKeySchema } from "../gen/mz/expr/v1/expr_pb.js";
import { RowSchema } from "../gen/mz/repr/v1/repr_pb.js";
import type { Peek } from "./command.js";

const LEN = WireType.LengthDelimited;
const VARINT = WireType.Varint;
/** `ComputeCommand.peek`. */
const PEEK = 8;

/**
 * The binary `ComputeCommand` carrying `peek` (see the file comment): written directly into one
 * buffer for the common peek (`codec/peek-command-frame.ts`), else with the `BinaryWriter`.
 * @throws InvalidDatum
 */
export function peekCommandFrame(peek: Peek): Uint8Array {
  return peekCommandFrameDirect(peek) ?? peekCommandFrameByWriter(peek);
}

/** `peekCommandFrame` with protobuf-es's `BinaryWriter` (every peek). @throws InvalidDatum */
export function peekCommandFrameByWriter(peek: Peek): Uint8Array {
  const w = new BinaryWriter();
  w.tag(PEEK, LEN).fork();
  if (peek.uuid !== "") w.tag(1, LEN).string(peek.uuid);
  const t = peek.target;
  w.tag(t.kind === "index" ? 2 : 3, LEN).fork();
  if (t.id !== "") w.tag(1, LEN).string(t.id);
  if (t.kind === "persist" && t.shardId !== "") w.tag(2, LEN).string(t.shardId);
  w.join();
  if (peek.arity !== 0) w.tag(4, VARINT).uint32(peek.arity);
  if (peek.timestamp !== 0n) w.tag(5, VARINT).uint64(peek.timestamp);
  if (peek.literalConstraints !== undefined) {
    w.tag(6, LEN).fork();
    for (const row of peek.literalConstraints) {
      w.tag(1, LEN).bytes(toBinary(RowSchema, rowToProto(row)));
    }
    w.join();
  }
  const mfp = peek.mapFilterProject;
  w.tag(7, LEN).fork();
  for (const e of mfp.exprs) w.tag(1, LEN).bytes(toBinary(ExprSchema, exprToProto(e)));
  for (const e of mfp.predicates) w.tag(2, LEN).bytes(toBinary(ExprSchema, exprToProto(e)));
  packedUint32(w, 3, mfp.projection);
  w.join();
  const f = peek.finishing;
  w.tag(8, LEN).fork();
  for (const k of f.orderBy) w.tag(1, LEN).bytes(toBinary(OrderKeySchema, orderKeyToProto(k)));
  if (f.limit !== undefined) w.tag(2, VARINT).uint64(f.limit);
  if (f.offset !== 0) w.tag(3, VARINT).uint64(f.offset);
  packedUint32(w, 4, f.project);
  w.join();
  if (peek.targetReplica !== undefined) w.tag(9, LEN).string(peek.targetReplica);
  w.join();
  return w.finish();
}

/** A packed `repeated uint32` field (left out when empty). */
function packedUint32(w: BinaryWriter, no: number, values: readonly number[]): void {
  if (values.length === 0) return;
  w.tag(no, LEN).fork();
  for (const v of values) w.uint32(v);
  w.join();
}
