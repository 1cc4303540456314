/**
 * The `./wire` subpath exposes the three services with one bidirectional `Control` rpc each and
 * the message schemas per proto package.
 */
import { describe, expect, it } from "vitest";
import {
  ClusterService,
  ComputeService,
  clusterV1,
  computeV1,
  StorageService,
  storageV1,
} from "./wire.js";

describe("wire", () => {
  it("exports the services with one bidi-streaming rpc over batched messages", () => {
    for (const [svc, pkg] of [
      [ClusterService, "mz.cluster.v1"],
      [ComputeService, "mz.compute.v1"],
      [StorageService, "mz.storage.v1"],
    ] as const) {
      expect(svc.typeName.startsWith(pkg)).toBe(true);
      expect(svc.method.control.methodKind).toBe("bidi_streaming");
      expect(svc.method.control.input.typeName).toBe(`${pkg}.ControlRequest`);
      expect(svc.method.control.input.fields[0]?.fieldKind).toBe("list");
    }
  });
  it("exports message schemas per package", () => {
    expect(computeV1.ComputeCommandSchema.typeName).toBe("mz.compute.v1.ComputeCommand");
    expect(storageV1.StorageResponseSchema.typeName).toBe("mz.storage.v1.StorageResponse");
    expect(clusterV1.HelloSchema.typeName).toBe("mz.cluster.v1.Hello");
  });
});
