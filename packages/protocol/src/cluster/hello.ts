/**
 * The connection hello: nonce, environment generation, protocol and build versions.
 *
 * Every stream opens with a hello (compute, storage, and each sub-protocol of the unified cluster
 * stream). The receiving replica calls `checkHello` with the highest generation it has seen:
 * - an older generation is refused with `StaleGeneration` (the sender is fenced; `Aborted`),
 * - a different protocol version with `ProtocolVersionMismatch` (`FailedPrecondition`),
 * - otherwise the connection is accepted, the newest connection wins, and the replica records
 *   `max(highest, hello.generation)`.
 * The nonce is fresh per connection (`createHello` draws one) and names the protocol iteration.
 * Authentication (the hello's `authProof`) is in `./hello-auth.ts`.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { fail, isUuid, nonEmpty } from "../codec/field.js";
import { ProtocolVersionMismatch, StaleGeneration } from "../errors.js";
import { type Hello as HelloProto, HelloSchema } from "../gen/mz/cluster/v1/hello_pb.js";

/** Length of a hello's `authProof` (an HMAC-SHA256). */
export const HELLO_PROOF_BYTES = 32;

/** The version of the compute, storage and cluster protocols this build speaks. */
export const PROTOCOL_VERSION = 1;

/** This package's version (kept equal to package.json "version"; a test checks it). */
export const BUILD_VERSION = "0.0.0";

/** Connection metadata sent first on every stream. */
export interface Hello {
  /** Fresh lowercase UUID per connection. */
  readonly nonce: string;
  /** Environment generation (u64), incremented per environmentd boot; fences older senders. */
  readonly generation: bigint;
  /** Protocol version; receivers require an exact match (`PROTOCOL_VERSION`). */
  readonly protocolVersion: number;
  /** Sender build version (informational, non-empty). */
  readonly buildVersion: string;
  /**
   * HMAC-SHA256 proof that the sender holds the environment's replica secret (`signHello`,
   * `./hello-auth.ts`); absent = unsigned (only an `--insecure-no-auth` replica accepts it).
   */
  readonly authProof?: Uint8Array;
}

/** A hello for a new connection of `generation`, with a fresh nonce and this build's versions. */
export function createHello(generation: bigint, nonce: string = randomUUID()): Hello {
  return { nonce, generation, protocolVersion: PROTOCOL_VERSION, buildVersion: BUILD_VERSION };
}

/**
 * Checks a received hello against the receiver's state.
 * @throws StaleGeneration when `hello.generation < highestGeneration`.
 * @throws ProtocolVersionMismatch when the protocol versions differ.
 */
export function checkHello(
  hello: Hello,
  highestGeneration: bigint,
  protocolVersion: number = PROTOCOL_VERSION,
): void {
  if (hello.protocolVersion !== protocolVersion) {
    throw new ProtocolVersionMismatch(hello.protocolVersion, protocolVersion, hello.buildVersion);
  }
  if (hello.generation < highestGeneration) {
    throw StaleGeneration.hello(hello.generation, highestGeneration);
  }
}

/** The wire form of a hello. */
export function helloToProto(h: Hello): HelloProto {
  return create(HelloSchema, {
    nonce: h.nonce,
    generation: h.generation,
    protocolVersion: h.protocolVersion,
    buildVersion: h.buildVersion,
    authProof: h.authProof ?? new Uint8Array(0),
  });
}

/** Decodes a hello. @throws FieldError (internal; wrapped by the stream codecs). */
export function helloFromProto(p: HelloProto, path: string): Hello {
  if (!isUuid(p.nonce)) {
    fail(
      `${path}.nonce`,
      `${JSON.stringify(p.nonce)} is not a lowercase UUID; draw a fresh one per connection`,
    );
  }
  if (p.protocolVersion === 0)
    fail(`${path}.protocolVersion`, "is 0; set the sender's protocol version");
  if (p.authProof.length !== 0 && p.authProof.length !== HELLO_PROOF_BYTES) {
    fail(
      `${path}.authProof`,
      `is ${p.authProof.length} bytes; an HMAC-SHA256 proof is ${HELLO_PROOF_BYTES} bytes (signHello)`,
    );
  }
  const hello = {
    nonce: p.nonce,
    generation: p.generation,
    protocolVersion: p.protocolVersion,
    buildVersion: nonEmpty(p.buildVersion, `${path}.buildVersion`),
  };
  return p.authProof.length === 0 ? hello : { ...hello, authProof: p.authProof };
}
