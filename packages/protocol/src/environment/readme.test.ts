/** The README's "Environment API" snippet, run as a test (style §12): keep it in sync. */
import { create } from "@bufbuild/protobuf";
import { expect, it } from "vitest";
import { checkPeekColumns, environmentCodecs, MalformedRequest } from "../index.js";
import { environmentV1 } from "../wire.js";

it("README: environment API", () => {
  const msg = create(environmentV1.CreateReplicaRequestSchema, {
    cluster: "c1",
    name: "r1",
    size: 0,
  });
  let err: unknown;
  try {
    environmentCodecs.createReplicaRequest.fromProto(msg);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MalformedRequest);
  expect((err as Error).message).toMatch(/^malformed createReplica request at size: is 0; /);
  expect(() =>
    checkPeekColumns({ object: "v", finishing: { orderBy: [], offset: 0, project: [1] } }, 2),
  ).not.toThrow();
});
