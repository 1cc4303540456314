/**
 * Assertion helper for negative codec tests: the call throws the expected typed error
 * (`MalformedCommand`/`MalformedResponse`) for the expected protocol, kind and field path, and the
 * message names the path and says what is wrong; `thrown` for the tests that look at the error
 * themselves. Test-only.
 */
import { expect } from "vitest";
import { MalformedCommand, MalformedResponse, ProtocolError } from "../errors.js";

export interface Expected {
  readonly protocol?: string;
  readonly kind: string;
  readonly path: string;
  readonly reason: RegExp;
}

/** What `f` throws; fails the test when it returns. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

function check(
  cls: typeof MalformedCommand | typeof MalformedResponse,
  f: () => unknown,
  want: Expected,
): void {
  const err = thrown(f);
  expect(err, "expected the decoder to throw").toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(ProtocolError);
  const e = err as MalformedCommand;
  if (want.protocol !== undefined) expect(e.protocol).toBe(want.protocol);
  expect(e.kind).toBe(want.kind);
  expect(e.path).toBe(want.path);
  expect(e.reason).toMatch(want.reason);
  if (want.path !== "") expect(e.message).toContain(want.path);
}

/** Asserts `f` throws `MalformedCommand` as described. */
export function expectMalformedCommand(f: () => unknown, want: Expected): void {
  check(MalformedCommand, f, want);
}

/** Asserts `f` throws `MalformedResponse` as described. */
export function expectMalformedResponse(f: () => unknown, want: Expected): void {
  check(MalformedResponse, f, want);
}
