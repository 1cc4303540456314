/**
 * Tests' view of a decode's result, for comparing two decoders of the same bytes: its value, or
 * the `MalformedResponse`'s message, or (for anything else thrown) the error's class name.
 */
import { MalformedResponse } from "../errors.js";

/** The outcome of `f`: `{ ok }`, `{ malformed: message }` or `{ error: class name }`. */
export function decodeOutcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return e instanceof MalformedResponse
      ? { malformed: e.message }
      : { error: (e as Error).constructor.name };
  }
}
