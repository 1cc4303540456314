/**
 * A seam-level check that a compute `ReplicaConnector`'s task coalesces (issue 16): the commands
 * it is given during one event-loop turn leave in one stream message, not one message per
 * `send`. Both compute replica tasks (legacy and unified) run the same check.
 *
 * Flow: a loopback Connect server for `ComputeService.Control` records the commands of every
 * request message and answers nothing; the task connects (its first message is the hello), then
 * `send` is called `n` times in one turn with one command each; once all `n` arrived, the report
 * says in how many messages they came.
 */
import { randomUUID } from "node:crypto";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeRequestFromProto,
  createHello,
} from "@mzts/protocol";
import type { ReplicaConnector } from "../replicas/replica-connection.js";
import { checkTaskOptions } from "./check-options.js";
import { pollUntil, startComputeTestServer } from "./compute-server.js";

export interface CoalescingReport {
  /** Request messages that carried the `n` commands sent in one turn. */
  readonly messages: number;
  /** Commands received after the first message (expected: `n`). */
  readonly commands: number;
}

/** Sends `n` single-command batches in one turn through `connector`'s task; see the file comment. */
export async function measureCoalescing(
  connector: ReplicaConnector<ComputeCommand, ComputeResponse>,
  n = 10,
  deadlineMs = 10_000,
): Promise<CoalescingReport> {
  /** Commands per request message, in arrival order. */
  const messages: number[] = [];
  const server = await startComputeTestServer({
    async *control(requests) {
      // Read the requests beside the (empty) response stream, as a replica does.
      let ended: () => void = () => {};
      const done = new Promise<void>((r) => {
        ended = r;
      });
      void (async () => {
        try {
          for await (const req of requests) messages.push(computeRequestFromProto(req).length);
        } catch {
          // the task closed the stream
        } finally {
          ended();
        }
      })();
      await done;
    },
  });
  // The history of a fresh instance starts with its hello (the legacy task sends it as is).
  const task = connector(checkTaskOptions(server.url, [{ kind: "hello", hello: createHello(1n) }]));
  const until = (what: string, f: () => boolean) =>
    pollUntil(`measureCoalescing: ${what}`, f, deadlineMs);
  try {
    await until("the first message (the hello)", () => messages.length >= 1);
    for (let i = 0; i < n; i++) task.send([{ kind: "cancelPeek", uuid: randomUUID() }]);
    const commands = () => messages.slice(1).reduce((a, b) => a + b, 0);
    await until(`${n} commands`, () => commands() >= n);
    return { messages: messages.length - 1, commands: commands() };
  } finally {
    await task.close();
    await server.close();
  }
}
