/**
 * Tests of hello authentication: proofs bound to nonce, generation and stream; constant-time
 * verification outcomes; the secret's file form; the proof surviving the wire.
 */
import { describe, expect, it } from "vitest";
import { computeRequestFromProto, computeRequestToProto } from "../compute/codec.js";
import { createHello } from "./hello.js";
import {
  formatReplicaSecret,
  generateReplicaSecret,
  InvalidReplicaSecret,
  parseReplicaSecret,
  signHello,
  verifyHelloProof,
} from "./hello-auth.js";

describe("hello authentication", () => {
  const secret = generateReplicaSecret();

  it("a signed hello verifies on its stream only", () => {
    const h = signHello(createHello(4n), secret, "compute");
    expect(verifyHelloProof(h, secret, "compute")).toBe("valid");
    expect(verifyHelloProof(h, secret, "storage")).toBe("mismatch");
    expect(verifyHelloProof(h, generateReplicaSecret(), "compute")).toBe("mismatch");
  });

  it("the proof is bound to nonce and generation (it cannot be moved to another hello)", () => {
    const h = signHello(createHello(4n), secret, "compute");
    expect(verifyHelloProof({ ...h, generation: 5n }, secret, "compute")).toBe("mismatch");
    expect(
      verifyHelloProof({ ...createHello(4n), authProof: h.authProof! }, secret, "compute"),
    ).toBe("mismatch");
  });

  it("an unsigned hello is 'missing'", () => {
    expect(verifyHelloProof(createHello(4n), secret, "compute")).toBe("missing");
  });

  it("the proof survives encoding; a proof of the wrong length is malformed", () => {
    const h = signHello(createHello(4n), secret, "compute");
    const [back] = computeRequestFromProto(computeRequestToProto([{ kind: "hello", hello: h }]));
    expect(back?.kind === "hello" && verifyHelloProof(back.hello, secret, "compute")).toBe("valid");
    const short = { ...h, authProof: new Uint8Array(5) };
    expect(() =>
      computeRequestFromProto(computeRequestToProto([{ kind: "hello", hello: short }])),
    ).toThrow(/authProof.*5 bytes/);
  });

  it("the secret's file form round-trips; anything else is refused", () => {
    expect(parseReplicaSecret(formatReplicaSecret(secret))).toEqual(secret);
    expect(() => parseReplicaSecret("abc\n")).toThrow(InvalidReplicaSecret);
    expect(() => parseReplicaSecret("Z".repeat(64))).toThrow(/not lowercase hex/);
  });
});
