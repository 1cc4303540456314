/**
 * `mapClientError`: the `-client` classes with a `./state` counterpart become it; the errors both
 * paths share (one class each, `@mzts/controller-unified`'s) pass through as the same object.
 */
import * as compute from "@mzts/compute-client";
import * as cluster from "@mzts/controller-unified/state";
import { describe, expect, it } from "vitest";
import { mapClientError } from "./client-errors.js";

describe("mapClientError", () => {
  it("maps a -client class to its ./state counterpart", () => {
    const e = mapClientError("c1", "peek", new compute.CollectionMissing("u1"));
    expect(e).toBeInstanceOf(cluster.CollectionMissing);
    expect((e as cluster.CollectionMissing).operation).toBe("peek");
  });

  it.each([
    ["PeekTimeout", new compute.PeekTimeout("p", 10), cluster.PeekTimeout],
    ["PeekCanceled", new compute.PeekCanceled("p", "aborted"), cluster.PeekCanceled],
    ["PeekFailed", new compute.PeekFailed("p", "boom"), cluster.PeekFailed],
    ["SubscribeFailed", new compute.SubscribeFailed("u1", "dropped"), cluster.SubscribeFailed],
    [
      "InvalidLoggingConfig",
      new compute.InvalidLoggingConfig("c1", "no"),
      cluster.InvalidLoggingConfig,
    ],
    ["LogPeekUntargeted", new compute.LogPeekUntargeted("s1", "log"), cluster.LogPeekUntargeted],
    [
      "LogImportUntargeted",
      new compute.LogImportUntargeted("s1", "log"),
      cluster.LogImportUntargeted,
    ],
    ["MetricsConflict", new compute.MetricsConflict("mz_x", "labels"), cluster.MetricsConflict],
  ] as Array<[string, Error, abstract new (...args: never[]) => Error]>)(
    "passes the shared %s through unchanged",
    (_name, e, stateClass) => {
      expect(mapClientError("c1", "peek", e)).toBe(e);
      expect(e).toBeInstanceOf(stateClass);
    },
  );
});
