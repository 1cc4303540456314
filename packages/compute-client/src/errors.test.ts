/**
 * The errors both controller paths throw are `@mzts/controller-unified`'s classes, re-exported:
 * the legacy path (this package) and the unified driver (`@mzts/controller-unified/state`) throw
 * the same classes, so a caller's `instanceof` holds whichever path threw.
 */
import * as unifiedRoot from "@mzts/controller-unified";
import * as unifiedState from "@mzts/controller-unified/state";
import { describe, expect, it } from "vitest";
import {
  ControllerError,
  InvalidLoggingConfig,
  LogImportUntargeted,
  LogPeekUntargeted,
  MetricsConflict,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  SubscribeFailed,
} from "./index.js";

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

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Each shared class as compute-client, `./state` and the package root export it, and one error
 * built through compute-client's and through `./state`'s name.
 */
const SHARED: Array<[string, ErrorClass, ErrorClass, ErrorClass, Error, Error, RegExp]> = [
  [
    "SubscribeFailed",
    SubscribeFailed,
    unifiedState.SubscribeFailed,
    unifiedRoot.SubscribeFailed,
    new SubscribeFailed("u9", "target replica dropped"),
    new unifiedState.SubscribeFailed("u9", "target replica dropped"),
    /subscribe u9 failed: target replica dropped; start a new subscribe/,
  ],
  [
    "InvalidLoggingConfig",
    InvalidLoggingConfig,
    unifiedState.InvalidLoggingConfig,
    unifiedRoot.InvalidLoggingConfig,
    new InvalidLoggingConfig("c1", "no"),
    new unifiedState.InvalidLoggingConfig("c1", "no"),
    /logging configuration of cluster c1 is invalid: no/,
  ],
  [
    "LogPeekUntargeted",
    LogPeekUntargeted,
    unifiedState.LogPeekUntargeted,
    unifiedRoot.LogPeekUntargeted,
    new LogPeekUntargeted("s1", "operators"),
    new unifiedState.LogPeekUntargeted("s1", "operators"),
    /relation operators.*peek it with targetReplica/,
  ],
  [
    "LogImportUntargeted",
    LogImportUntargeted,
    unifiedState.LogImportUntargeted,
    unifiedRoot.LogImportUntargeted,
    new LogImportUntargeted("s1", "operators"),
    new unifiedState.LogImportUntargeted("s1", "operators"),
    /relation operators.*subscribe with targetReplica/,
  ],
  [
    "MetricsConflict",
    MetricsConflict,
    unifiedState.MetricsConflict,
    unifiedRoot.MetricsConflict,
    new MetricsConflict("mz_x", "other labels"),
    new unifiedState.MetricsConflict("mz_x", "other labels"),
    /metric mz_x cannot be reused: other labels/,
  ],
];

describe("the other errors both paths throw", () => {
  it.each(SHARED)(
    "%s is one class, instanceof on both paths",
    (name, C, S, R, legacy, unified, msg) => {
      expect(C).toBe(S);
      expect(C).toBe(R);
      for (const e of [legacy, unified]) {
        expect(e).toBeInstanceOf(C);
        expect(e).toBeInstanceOf(S);
        expect(e).toBeInstanceOf(unifiedRoot.UnifiedControllerError);
        expect(e).not.toBeInstanceOf(ControllerError);
        expect(e).not.toBeInstanceOf(unifiedState.ClusterStateError);
        expect(e.name).toBe(name);
        expect(e.message).toMatch(msg);
      }
    },
  );
});
