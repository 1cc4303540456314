/**
 * `toConnectError` for what a cluster's controller throws on either path (phase 5): the
 * `@mzts/controller-unified/state` classes (the unified driver's, and the legacy adapter's mapped
 * `-client` ones) get the same Connect codes as compute-client's, and a cluster without a
 * controller is Unavailable.
 */
import { Code } from "@connectrpc/connect";
import * as compute from "@mzts/compute-client";
import {
  CollectionMissing,
  DependantsExist,
  InvalidStateRequest,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  ReplicaMissing,
  SinceViolation,
  SubscribeFailed,
} from "@mzts/controller-unified/state";
import { describe, expect, it } from "vitest";
import { ClusterControllerMissing, ControllerRebuilt } from "../errors.js";
import { toConnectError } from "./server.js";

const cases: Array<[string, unknown, Code]> = [
  ["SinceViolation", new SinceViolation("u1", 1n, 5n), Code.FailedPrecondition],
  ["DependantsExist", new DependantsExist("u1", ["u2"]), Code.FailedPrecondition],
  ["InvalidStateRequest", new InvalidStateRequest("peek", "why"), Code.FailedPrecondition],
  ["PeekTimeout", new PeekTimeout("p", 10), Code.DeadlineExceeded],
  ["PeekCanceled", new PeekCanceled("p", "gone"), Code.Canceled],
  ["PeekFailed", new PeekFailed("p", "replica error"), Code.Unavailable],
  ["SubscribeFailed", new SubscribeFailed("u9", "target replica dropped"), Code.Unavailable],
  ["CollectionMissing", new CollectionMissing("u1", "u2", "peek"), Code.Unavailable],
  ["ReplicaMissing", new ReplicaMissing("u1", "u9"), Code.Unavailable],
  ["ClusterControllerMissing", new ClusterControllerMissing("u1", "peek"), Code.Unavailable],
  ["ControllerRebuilt", new ControllerRebuilt("u1", "subscribe"), Code.Unavailable],
  // One class each for both paths: compute-client's names are the same classes.
  ["SubscribeFailed (legacy)", new compute.SubscribeFailed("u9", "dropped"), Code.Unavailable],
  ["PeekTimeout (legacy)", new compute.PeekTimeout("p", 10), Code.DeadlineExceeded],
];

describe("toConnectError (cluster controller errors)", () => {
  it.each(cases)("%s", (_name, error, code) => {
    const e = toConnectError(error);
    expect(e.code).toBe(code);
    expect(e.rawMessage).toBe((error as Error).message);
  });
});
