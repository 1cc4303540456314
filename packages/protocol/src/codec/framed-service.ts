/**
 * The descriptor of a framed `Control` stream (issue 16): a copy of a generated service whose
 * bidi `control` method takes and gives wire-identical "frames" messages (`repeated bytes` in
 * place of `repeated <message>`, see `proto/mz/*\/v1/control_frames.proto`). Connect serializes
 * with the method's schemas and builds the path from its parent service, so the path stays
 * `/<service>/Control` and the bytes on the wire are those of the plain messages.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";

/** A generated service with one bidi `control` method (compute's and the cluster's). */
type ControlServiceDesc = GenService<{
  control: { methodKind: "bidi_streaming"; input: DescMessage; output: DescMessage };
}>;

/** `service` with `input`/`output` as `control`'s messages (same path, same kind). */
export function framedControlService<In extends DescMessage, Out extends DescMessage>(
  service: ControlServiceDesc,
  input: In,
  output: Out,
): GenService<{ control: { methodKind: "bidi_streaming"; input: In; output: Out } }> {
  const control = { ...service.method.control, input, output };
  const framed = { ...service, methods: [control], method: { control } };
  return framed as unknown as GenService<{
    control: { methodKind: "bidi_streaming"; input: In; output: Out };
  }>;
}
