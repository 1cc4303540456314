import { describe, expect, it } from "vitest";
import { successorName } from "./replica-roll.js";

describe("successorName", () => {
  const API_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

  it("is <name>_pending, numbered when taken, always a valid API name", () => {
    expect(successorName("r1", new Set(["r1"]))).toBe("r1_pending");
    expect(successorName("r1", new Set(["r1", "r1_pending"]))).toBe("r1_pending2");
    const long = "r".repeat(63);
    const name = successorName(long, new Set([long]));
    expect(name).toMatch(API_NAME);
    expect(name.endsWith("_pending")).toBe(true);
    expect(successorName("r1", new Set())).toMatch(API_NAME);
  });
});
