/**
 * The peek outcome classes are `@mzts/controller-unified`'s, re-exported: the legacy path (this
 * package) and the unified driver (`@mzts/controller-unified/state`) reject peeks with the same
 * classes, so a caller's `instanceof` holds whichever path answered.
 */
import * as unifiedState from "@mzts/controller-unified/state";
import { describe, expect, it } from "vitest";
import { ControllerError, PeekCanceled, PeekFailed, PeekTimeout } from "./index.js";

describe("peek errors", () => {
  it("are one class each for both controller paths", () => {
    expect(PeekCanceled).toBe(unifiedState.PeekCanceled);
    expect(PeekTimeout).toBe(unifiedState.PeekTimeout);
    expect(PeekFailed).toBe(unifiedState.PeekFailed);
    const timeout = new unifiedState.PeekTimeout("p1", 50);
    expect(timeout).toBeInstanceOf(PeekTimeout);
    expect(timeout).toBeInstanceOf(PeekCanceled);
    expect(timeout.name).toBe("PeekTimeout");
    expect(timeout.message).toMatch(/no replica answered within 50 ms/);
    expect(new unifiedState.PeekFailed("p2", "boom")).toBeInstanceOf(PeekFailed);
    // The compute controller's own root does not cover them: they are shared, not compute's.
    expect(new PeekFailed("p3", "boom")).not.toBeInstanceOf(ControllerError);
  });
});
