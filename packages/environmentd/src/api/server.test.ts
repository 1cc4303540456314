/**
 * `toConnectError`: the one mapping from in-process errors to Connect codes (style §9), checked
 * class by class; messages are kept verbatim (they say what to fix).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { PeekCanceled, PeekFailed, PeekTimeout, SinceViolation } from "@mzts/compute-client";
import * as unifiedState from "@mzts/controller-unified/state";
import { MalformedPlan } from "@mzts/expr";
import { MalformedRequest } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import {
  CatalogClosed,
  DependencyExists,
  GenerationNotBooted,
  InvalidCatalogInput,
  NameInUse,
  StaleGeneration,
  UnknownObject,
} from "../catalog/errors.js";
import {
  EnvironmentClosed,
  InvalidObjectRequest,
  NoIndexForPeek,
  PeekBelowSince,
  SubsourceDrop,
  UpperWaitTimeout,
} from "../errors.js";
import { toConnectError } from "./server.js";

const cases: Array<[string, unknown, Code]> = [
  [
    "malformed request",
    new MalformedRequest("createReplica", "size", "is 0"),
    Code.InvalidArgument,
  ],
  [
    "invalid object request",
    new InvalidObjectRequest("key[0]", "out of range"),
    Code.InvalidArgument,
  ],
  [
    "invalid catalog input",
    new InvalidCatalogInput("createSource", "exports", "empty"),
    Code.InvalidArgument,
  ],
  ["malformed plan", new MalformedPlan("plan.get", "bad arity"), Code.InvalidArgument],
  ["unknown name", new UnknownObject("object", "nope"), Code.NotFound],
  ["name in use", new NameInUse("cluster", "c1", "cluster", "u1"), Code.AlreadyExists],
  [
    "dependency exists",
    new DependencyExists("source", "s", [{ kind: "index", id: "u9", name: "i" }]),
    Code.FailedPrecondition,
  ],
  ["subsource drop", new SubsourceDrop("s_bids", "s"), Code.FailedPrecondition],
  ["no index", new NoIndexForPeek("s_bids"), Code.FailedPrecondition],
  ["below since (environment)", new PeekBelowSince("i", 1n, 5n), Code.FailedPrecondition],
  ["below since (controller)", new SinceViolation("u9", 1n, 5n), Code.FailedPrecondition],
  ["stale generation (catalog)", StaleGeneration.catalog(1n, 2n, "createCluster"), Code.Aborted],
  ["stale generation (orchestrator)", StaleGeneration.orchestrator("u2", 1n, 2n), Code.Aborted],
  ["upper wait timeout", new UpperWaitTimeout("i", 5n, 100), Code.DeadlineExceeded],
  ["peek timeout", new PeekTimeout("p", 100), Code.DeadlineExceeded],
  ["peek canceled", new PeekCanceled("p", "caller aborted"), Code.Canceled],
  ["peek failed", new PeekFailed("p", "boom"), Code.Unavailable],
  // The unified driver's peeks (phase 5 state) reject with the same classes: one definition.
  ["peek timeout (unified driver)", new unifiedState.PeekTimeout("p", 100), Code.DeadlineExceeded],
  ["peek canceled (unified driver)", new unifiedState.PeekCanceled("p", "closed"), Code.Canceled],
  ["peek failed (unified driver)", new unifiedState.PeekFailed("p", "boom"), Code.Unavailable],
  ["environment closed", new EnvironmentClosed(), Code.Unavailable],
  ["catalog closed", new CatalogClosed("sqlite:x"), Code.Unavailable],
  [
    "generation not booted (a bug)",
    new GenerationNotBooted(0n, 1n, "createCluster"),
    Code.Internal,
  ],
  ["anything else", new Error("bug"), Code.Internal],
];

describe("toConnectError", () => {
  it.each(cases)("%s", (_what, error, code) => {
    const e = toConnectError(error);
    expect(e).toBeInstanceOf(ConnectError);
    expect(e.code).toBe(code);
    expect(e.rawMessage).toBe((error as Error).message);
  });

  it("passes ConnectErrors through", () => {
    const e = new ConnectError("x", Code.Unimplemented);
    expect(toConnectError(e)).toBe(e);
  });
});
