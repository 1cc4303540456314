/**
 * What a mzctl command module gets from the program (`program.ts`): the API client, the output
 * (`print`: protobuf JSON with `--json`, else the human text), the call options (Ctrl-C) and the
 * option parsers.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { EnvironmentService } from "@mzts/protocol/wire";
import type { CliIo } from "./render.js";

export type EnvironmentClient = Client<typeof EnvironmentService>;

export interface CliContext {
  readonly io: CliIo;
  readonly client: () => EnvironmentClient;
  readonly print: <D extends DescMessage>(
    schema: D,
    message: MessageShape<D>,
    human: () => string,
  ) => void;
  readonly callOptions: () => { signal?: AbortSignal };
  /** An integer option ≥ `min` (commander argParser). */
  readonly uint: (what: string, min?: number) => (value: string) => number;
  /** An unsigned 64-bit option (commander argParser). */
  readonly u64: (what: string) => (value: string) => bigint;
}
