/**
 * Tests of the hello helpers: fresh nonces, generation fencing and protocol version checks with
 * errors naming both values, and the build version constant matching package.json.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ProtocolVersionMismatch, StaleGeneration } from "../errors.js";
import { BUILD_VERSION, checkHello, createHello, PROTOCOL_VERSION } from "./hello.js";

describe("hello", () => {
  it("createHello draws a fresh lowercase UUID per connection and carries this build's versions", () => {
    const a = createHello(3n);
    const b = createHello(3n);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.nonce).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a).toMatchObject({
      generation: 3n,
      protocolVersion: PROTOCOL_VERSION,
      buildVersion: BUILD_VERSION,
    });
  });

  it("accepts the same or a newer generation", () => {
    expect(() => checkHello(createHello(5n), 5n)).not.toThrow();
    expect(() => checkHello(createHello(6n), 5n)).not.toThrow();
  });

  it("fences an older generation, naming both", () => {
    let err: unknown;
    try {
      checkHello(createHello(4n), 5n);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StaleGeneration);
    expect(err).toMatchObject({ generation: 4n, currentGeneration: 5n });
    expect((err as Error).message).toMatch(/generation 4 refused.*generation 5.*fenced/);
    // The replica only saw a hello of generation 5; it cannot know a newer environmentd booted
    // (an unauthenticated process may have sent it), so the message must not claim so.
    expect((err as Error).message).not.toMatch(/a newer one booted/);
    expect((err as Error).message).toMatch(/catalog's generation/);
  });

  it("refuses another protocol version, naming both", () => {
    const hello = { ...createHello(5n), protocolVersion: 2 };
    expect(() => checkHello(hello, 0n)).toThrow(ProtocolVersionMismatch);
    expect(() => checkHello(hello, 0n)).toThrow(/protocol version 2 .*protocol version 1/);
    expect(() => checkHello(hello, 0n, 2)).not.toThrow();
  });

  it("BUILD_VERSION equals the package version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(BUILD_VERSION).toBe(pkg.version);
  });
});
