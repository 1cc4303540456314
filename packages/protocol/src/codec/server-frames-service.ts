/**
 * The replica's side of the framed `Control` streams (issue 16): `ComputeService` and
 * `ClusterService` whose `control` method takes the wire-identical `ControlRequestFrames`
 * (`repeated bytes commands`) and gives the plain `ControlResponse` (whose binary messages carry
 * pre-encoded responses, `response-frames.ts`). Connect then hands each command over as its bytes
 * instead of decoding every command reflectively, and the replica decodes them with
 * `computeRequestFromFrames`/`clusterRequestFromFrames` (an idle `allowCompaction` directly).
 *
 * Same path, same bytes on a binary (gRPC, Connect `+proto`) stream. A JSON stream's request
 * reads `commands` as base64 strings of binary commands (`ControlRequestFrames`' JSON form).
 */

import {
  ControlResponseSchema as ClusterControlResponseSchema,
  ClusterService,
} from "../gen/mz/cluster/v1/cluster_pb.js";
import { ControlRequestFramesSchema as ClusterControlRequestFramesSchema } from "../gen/mz/cluster/v1/control_frames_pb.js";
import { ControlRequestFramesSchema } from "../gen/mz/compute/v1/control_frames_pb.js";
import { ComputeService, ControlResponseSchema } from "../gen/mz/compute/v1/service_pb.js";
import { framedControlService } from "./framed-service.js";

/** `ComputeService` as a replica serves it: framed commands in, plain responses out. */
export const ComputeServerFramesService = framedControlService(
  ComputeService,
  ControlRequestFramesSchema,
  ControlResponseSchema,
);

/** `ClusterService` as a replica serves it: framed commands in, plain responses out. */
export const ClusterServerFramesService = framedControlService(
  ClusterService,
  ClusterControlRequestFramesSchema,
  ClusterControlResponseSchema,
);
