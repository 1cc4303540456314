/**
 * Controller↔replica authentication: the hello's `authProof` (docs/design/20261206_replica_auth.md).
 *
 * Every environment has one replica secret (32 random bytes, created once in environmentd's data
 * directory, handed to each clusterd at spawn). A controller signs each hello it sends with
 * `signHello(hello, secret, stream)`: the proof is HMAC-SHA256 keyed by the secret over a domain
 * tag, the stream, the nonce, the generation and the protocol version. A replica checks it with
 * `verifyHelloProof` (constant-time comparison). The proof is bound to the hello: it cannot be
 * moved to another nonce, generation or stream, and a replica accepts each nonce once, so a
 * captured hello cannot be replayed. The secret itself never crosses the wire.
 *
 * The secret's text form (the file both sides read) is 64 lowercase hex digits and a newline:
 * `formatReplicaSecret` / `parseReplicaSecret`.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ProtocolError } from "../errors.js";
import { HELLO_PROOF_BYTES, type Hello } from "./hello.js";

/** The stream a hello opens; part of the proof, so a hello for one port is refused by another. */
export type HelloStream = "compute" | "storage" | "cluster";

/** The replica secret's length in bytes. */
export const REPLICA_SECRET_BYTES = 32;

/** A replica secret file that does not hold a secret. */
export class InvalidReplicaSecret extends ProtocolError {
  override name = "InvalidReplicaSecret";
  constructor(readonly reason: string) {
    super(
      `invalid replica secret: ${reason}; the secret file holds ${REPLICA_SECRET_BYTES * 2} hex ` +
        "digits (environmentd writes it once to <data-dir>/replica-secret; delete it there to make a new one, then restart the replicas)",
    );
  }
}

/** Draws a fresh secret. */
export function generateReplicaSecret(): Uint8Array {
  return new Uint8Array(randomBytes(REPLICA_SECRET_BYTES));
}

/** The secret's file form. */
export function formatReplicaSecret(secret: Uint8Array): string {
  return `${Buffer.from(secret).toString("hex")}\n`;
}

/** @throws InvalidReplicaSecret */
export function parseReplicaSecret(text: string): Uint8Array {
  const hex = text.trim();
  if (!/^[0-9a-f]*$/.test(hex)) throw new InvalidReplicaSecret("not lowercase hex");
  if (hex.length !== REPLICA_SECRET_BYTES * 2) {
    throw new InvalidReplicaSecret(`${hex.length} hex digits`);
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** The proof of `hello` on `stream` under `secret`. */
export function helloProof(secret: Uint8Array, stream: HelloStream, hello: Hello): Uint8Array {
  const mac = createHmac("sha256", secret);
  mac.update(
    `mzts-replica-hello-v1\n${stream}\n${hello.nonce}\n${hello.generation}\n${hello.protocolVersion}`,
  );
  return new Uint8Array(mac.digest());
}

/** `hello` with its proof for `stream`. */
export function signHello(hello: Hello, secret: Uint8Array, stream: HelloStream): Hello {
  return { ...hello, authProof: helloProof(secret, stream, hello) };
}

/** The outcome of checking a hello's proof. */
export type HelloProofCheck = "valid" | "missing" | "mismatch";

/** Checks `hello.authProof` in constant time. */
export function verifyHelloProof(
  hello: Hello,
  secret: Uint8Array,
  stream: HelloStream,
): HelloProofCheck {
  const offered = hello.authProof;
  if (offered === undefined || offered.length === 0) return "missing";
  if (offered.length !== HELLO_PROOF_BYTES) return "mismatch";
  return timingSafeEqual(offered, helloProof(secret, stream, hello)) ? "valid" : "mismatch";
}
